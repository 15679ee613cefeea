/** `taskmesh shutdown`: stop the service at a URL. */
import { ConnectionManager } from '../../client/connection-manager.ts';
import { ServerStatus, ADMIN_TOKEN_ENV } from '../../protocol.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, tokenFrom, UsageError, urlArgument, wholeNumber, writeJson } from '../support.ts';

const usage = `Usage: taskmesh shutdown <url> [--token TOKEN] [--no-wait] [--timeout MS] [--json]

Ask the service at <url> to stop. Requests in flight finish first; then it runs its onShutdown
and exits. Waits until it is down (refuses new connections; requests in flight may still be
finishing then), unless --no-wait.

  --token TOKEN   the service's admin token (default: ${ADMIN_TOKEN_ENV}; prefer the variable,
                  a command line is visible to other users of the machine). Not needed from
                  this machine for a service bound to loopback only.
  --no-wait       return once the service has taken the request
  --timeout MS    how long to wait for it to refuse new connections (default 30000)
  --json          print { url, className, status } as JSON

Exit codes: 0 stopped (or stopping, with --no-wait), 2 wrong arguments, 3 nothing answers,
5 admin token missing or wrong, 6 still taking connections after the timeout.`;

export const shutdownCommand: CliCommand = {
  name: 'shutdown',
  summary: 'Stop the service at a URL',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let url: string, json: boolean, wait: boolean, timeout: number, token: string | undefined;
    try {
      const { values, positionals } = parseCommandArgs(args, {
        token: { type: 'string' },
        'no-wait': { type: 'boolean', default: false },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
      });
      if (positionals.length !== 1) throw new UsageError(`shutdown takes one URL, got ${positionals.length} arguments.`);
      url = urlArgument(positionals[0]);
      json = values.json;
      wait = !values['no-wait'];
      timeout = wholeNumber(values.timeout, '--timeout', 1) ?? 30_000;
      token = tokenFrom(values.token, io);
    } catch (error) {
      return fail(io, shutdownCommand, error);
    }
    const cm = new ConnectionManager({ url, token, timeout: Math.min(timeout, 10_000) });
    try {
      const className = await cm.className();
      await cm.shutdown({ block: wait, timeout });
      const status = wait ? ServerStatus.Down : ServerStatus.Stopping;
      if (json) writeJson(io, { url, className, status });
      else io.stdout.write(wait ? `${className} at ${url} is down.\n` : `${className} at ${url} is stopping.\n`);
      return ExitCode.Ok;
    } catch (error) {
      return fail(io, shutdownCommand, error);
    } finally {
      await cm.close();
    }
  },
};
