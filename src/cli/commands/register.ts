/** `taskmesh register`: register an app with a running gateway. */
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import type { AppInfo } from '../../gateway/contract.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { UsageError, fail, parseCommandArgs, tokenFrom, urlArgument, writeJson } from '../support.ts';

const usage = `Usage: taskmesh register <gateway-url> <name> <app-url> [--token TOKEN] [--json]

Register (or replace) the app at <app-url> under <name> with the gateway at <gateway-url>; the
gateway then forwards <gateway-url>/<name>/<path> to <app-url>/<path>.

  --token TOKEN   the gateway's admin token (default: ${ADMIN_TOKEN_ENV}; prefer the variable,
                  a command line is visible to other users of the machine)
  --json          print the registered app (URL, health, endpoints with their schemas) as JSON

Exit codes: 0 registered, 2 wrong arguments, 3 gateway unreachable, 4 refused (bad name or URL),
5 admin token missing or wrong, 6 timed out.`;

export const registerCommand: CliCommand = {
  name: 'register',
  summary: 'Register an app with a gateway',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    try {
      const { values, positionals } = parseCommandArgs(args, { token: { type: 'string' }, json: { type: 'boolean', default: false } });
      if (positionals.length !== 3) throw new UsageError(`register takes 3 arguments (gateway URL, name, app URL); got ${positionals.length}.`);
      const [gatewayArg, name, appArg] = positionals as [string, string, string];
      const gatewayUrl = urlArgument(gatewayArg, 'gateway URL');
      const appUrl = urlArgument(appArg, 'app URL');
      const token = tokenFrom(values.token, io);
      // Not `await using`: the checkout's CLI runs these sources on Node 22, which cannot parse it.
      const gateway = await Gateway.connect(gatewayUrl, { ...(token ? { token } : {}), timeout: 30_000 });
      try {
        // The reply is the app as the gateway sees it: health and endpoint schemas included.
        const app = (await gateway.call('registerApp', { name, url: appUrl })) as AppInfo;
        if (values.json) writeJson(io, app);
        else {
          const endpoints = Object.values(app.endpoints).filter((e) => !e.builtin).map((e) => e.path);
          io.stdout.write(`Registered "${name}" -> ${app.url} at ${gateway.url} (${app.health.status}; endpoints: ${endpoints.join(', ') || 'none known yet'}).\n`);
        }
      } finally {
        await gateway.close();
      }
      return ExitCode.Ok;
    } catch (error) {
      return fail(io, registerCommand, error);
    }
  },
};
