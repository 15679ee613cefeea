/** `taskmesh register`: register an app with a running gateway. */
import { parseArgs } from 'node:util';
import { ErrorCodes, TaskmeshError, formatIssues } from '../../errors.ts';
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import type { AppInfo } from '../../gateway/contract.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';

const usage = `Usage: taskmesh register <gateway-url> <name> <app-url> [--token TOKEN] [--json]

Register (or replace) the app at <app-url> under <name> with the gateway at <gateway-url>; the
gateway then forwards <gateway-url>/<name>/<path> to <app-url>/<path>.

  --token TOKEN   the gateway's admin token (default: ${ADMIN_TOKEN_ENV}; prefer the variable,
                  a command line is visible to other users of the machine)
  --json          print the registered app (URL, health, endpoints) as JSON

Exit codes: 0 registered, 2 wrong arguments, 3 gateway unreachable, 4 refused (bad name or URL),
5 admin token missing or wrong, 6 timed out.`;

class UsageError extends Error {}

export function usageError(message: string): Error {
  return new UsageError(message);
}

/** The documented exit code for an error; `fallback` for anything not in the table. */
export function exitCodeFor(error: unknown, fallback: ExitCode = ExitCode.Failure): ExitCode {
  if (error instanceof UsageError) return ExitCode.Usage;
  if (!(error instanceof TaskmeshError)) return fallback;
  switch (error.code) {
    case ErrorCodes.UNREACHABLE:
      return ExitCode.Unreachable;
    case ErrorCodes.UNAUTHORIZED:
      return ExitCode.Unauthorized;
    case ErrorCodes.TIMEOUT:
      return ExitCode.Timeout;
    case ErrorCodes.INVALID_INPUT:
    case ErrorCodes.CALL_FAILED:
    case ErrorCodes.NOT_FOUND:
    case ErrorCodes.APP_NOT_REGISTERED:
    case ErrorCodes.UPSTREAM_UNREACHABLE:
    case ErrorCodes.UPSTREAM_TIMEOUT:
      return ExitCode.CallFailed;
    default:
      return fallback;
  }
}

export const registerCommand: CliCommand = {
  name: 'register',
  summary: 'Register an app with a gateway',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let gatewayUrl: string, name: string, appUrl: string, token: string | undefined, json: boolean;
    try {
      const { values, positionals } = parseArgs({
        args,
        options: { token: { type: 'string' }, json: { type: 'boolean', default: false } },
        strict: true,
        allowPositionals: true,
      });
      if (positionals.length !== 3) throw usageError(`register takes 3 arguments (gateway URL, name, app URL); got ${positionals.length}.`);
      [gatewayUrl, name, appUrl] = positionals as [string, string, string];
      token = values.token ?? io.env[ADMIN_TOKEN_ENV];
      json = values.json;
    } catch (error) {
      io.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
      return ExitCode.Usage;
    }

    try {
      await using gateway = await Gateway.connect(gatewayUrl, { ...(token ? { token } : {}), timeout: 30_000 });
      const app = (await gateway.call('registerApp', { name, url: appUrl })) as AppInfo;
      if (json) io.stdout.write(`${JSON.stringify(app, null, 2)}\n`);
      else {
        const endpoints = Object.values(app.endpoints).filter((e) => !e.builtin).map((e) => e.path);
        io.stdout.write(`Registered "${name}" -> ${app.url} at ${gateway.url} (${app.health.status}; endpoints: ${endpoints.join(', ') || 'none known yet'}).\n`);
      }
      return ExitCode.Ok;
    } catch (error) {
      const issues = error instanceof TaskmeshError && error.issues?.length && !error.message.includes(formatIssues(error.issues)) ? ` (${formatIssues(error.issues)})` : '';
      io.stderr.write(`taskmesh register: ${(error as Error).message}${issues}\n`);
      return exitCodeFor(error);
    }
  },
};
