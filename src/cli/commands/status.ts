/** `taskmesh status`: whether a service answers at a URL, and how it is. */
import { ConnectionManager } from '../../client/connection-manager.ts';
import { ServiceUnreachableError } from '../../errors.ts';
import { ServerStatus } from '../../protocol.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, UsageError, urlArgument, wholeNumber, writeJson } from '../support.ts';

const usage = `Usage: taskmesh status <url> [--json] [--timeout MS]

Show whether a service answers at <url> (http://host:port, host:port, or a port on localhost):
its status (Launching, Available, Stopping, Down or FailedToLaunch), class, server id and
heartbeat message.

  --json         print { url, status, className, serverId, message, details } as JSON
  --timeout MS   how long to wait for an answer (default 5000)

Exit codes: 0 the service answered (whatever its status), 2 wrong arguments, 3 nothing answers
(status Down), 4 what answers is not a taskmesh service, 6 timed out.`;

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'Show the status of the service at a URL',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let url: string, json: boolean, timeout: number;
    try {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean', default: false }, timeout: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError(`status takes one URL, got ${positionals.length} arguments.`);
      url = urlArgument(positionals[0]);
      json = values.json;
      timeout = wholeNumber(values.timeout, '--timeout', 1) ?? 5_000;
    } catch (error) {
      return fail(io, statusCommand, error);
    }
    const cm = new ConnectionManager({ url, timeout });
    try {
      const [heartbeat, className] = await Promise.all([cm.heartbeat(), cm.className()]);
      const report = { url, status: heartbeat.status, className, serverId: heartbeat.server_id, message: heartbeat.message, details: heartbeat.details };
      if (json) writeJson(io, report);
      else {
        io.stdout.write(`${report.status}  ${className} at ${url}\n  server id  ${report.serverId}\n`);
        if (report.message) io.stdout.write(`  message    ${report.message}\n`);
        if (report.details !== null && report.details !== undefined) io.stdout.write(`  details    ${JSON.stringify(report.details)}\n`);
      }
      return ExitCode.Ok;
    } catch (error) {
      if (!(error instanceof ServiceUnreachableError)) return fail(io, statusCommand, error);
      if (json) writeJson(io, { url, status: ServerStatus.Down });
      else io.stdout.write(`${ServerStatus.Down}  nothing answers at ${url}\n`);
      return ExitCode.Unreachable;
    } finally {
      await cm.close();
    }
  },
};
