/** `taskmesh launch`: serve a service from a module, in the foreground or detached. */
import { launch } from '../../launch/launch.ts';
import type { LaunchedService } from '../../launch/options.ts';
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, UsageError, wholeNumber } from '../support.ts';

const usage = `Usage: taskmesh launch <module>[#Export] [--host HOST] [--port PORT] [--url URL] [--workers N]
                       [--detach] [--timeout MS] [--log-dir DIR] [--json]

Serve the Service class exported as <Export> from <module> (a .ts or .js file, relative to the
working directory) in a process of its own. Without #Export, the module's only Service export.

In the foreground (the default) the service's logs go to this terminal's stderr and to its log
file, and Ctrl-C stops it (a second Ctrl-C kills it). With --detach the command returns once the
service answers and leaves it running; stop it with \`taskmesh shutdown <url>\`.

  --host HOST     address to serve on (default: the host of the class's default URL)
  --port PORT     port to serve on; 0 picks a free one (default: the port of the default URL)
  --url URL       the whole URL instead of --host and --port
  --workers N     serve one port from N processes (node cluster; default 1)
  --detach        return once it answers, and leave it running
  --timeout MS    how long to wait for it to answer (default 60000)
  --log-dir DIR   folder of its log file (default: TASKMESH_LOG_DIR, or ~/.cache/taskmesh/logs)
  --json          print where it serves (url, pid, serverId, logFile, pidFile) as one JSON line

The admin token of the service comes from ${ADMIN_TOKEN_ENV}.

Exit codes: 0 served and stopped (or detached), 2 wrong arguments, 6 it did not answer in time,
7 it failed to launch (module or export not found, constructor or onStartup threw, port in use),
1 it stopped unexpectedly after serving, 130 Ctrl-C stopped it before it served.`;

export const launchCommand: CliCommand = {
  name: 'launch',
  summary: 'Serve a service from a module, in its own process',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let target: string;
    let options: Parameters<typeof launch>[1] & object;
    let json: boolean;
    let served = false;
    try {
      const { values, positionals } = parseCommandArgs(args, {
        host: { type: 'string' },
        port: { type: 'string' },
        url: { type: 'string' },
        workers: { type: 'string' },
        detach: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        'log-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
      });
      if (positionals.length !== 1) throw new UsageError(`launch takes one module (module.ts#Export), got ${positionals.length} arguments.`);
      if (values.url !== undefined && (values.host !== undefined || values.port !== undefined)) throw new UsageError('Give --url, or --host and --port, not both.');
      target = positionals[0]!;
      json = values.json;
      options = {
        ...(values.url !== undefined ? { url: values.url } : {}),
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(values.port !== undefined ? { port: wholeNumber(values.port, '--port') } : {}),
        ...(values.workers !== undefined ? { numWorkers: wholeNumber(values.workers, '--workers', 1) } : {}),
        ...(values.timeout !== undefined ? { timeout: wholeNumber(values.timeout, '--timeout', 1) } : {}),
        ...(values['log-dir'] !== undefined ? { logDir: values['log-dir'] } : {}),
        ...(io.env[ADMIN_TOKEN_ENV] ? { adminToken: io.env[ADMIN_TOKEN_ENV] } : {}),
        detached: values.detach,
        block: !values.detach,
        progress: !json,
        onReady: (service: LaunchedService) => {
          served = true;
          // One line, so that a script can read it while the service keeps logging.
          if (json) io.stdout.write(`${JSON.stringify(service)}\n`);
          else {
            const how = values.detach ? `Stop it with: taskmesh shutdown ${service.url}` : 'Ctrl-C stops it.';
            io.stdout.write(`${target} serves at ${service.url} (pid ${service.pid}; log: ${service.logFile}). ${how}\n`);
          }
        },
      };
    } catch (error) {
      return fail(io, launchCommand, error);
    }
    try {
      const client = await launch(target, options);
      if (!served) {
        io.stderr.write(`taskmesh launch: ${target} was stopped before it served, as asked.\n`);
        return ExitCode.Interrupted;
      }
      // Detached: let go of the client without stopping the service.
      await client?.close();
      return ExitCode.Ok;
    } catch (error) {
      // After it served, a failure is the service's own end, not a failed launch.
      if (served) {
        io.stderr.write(`taskmesh launch: ${(error as Error).message}\n`);
        return ExitCode.Failure;
      }
      return fail(io, launchCommand, error, ExitCode.LaunchFailed);
    }
  },
};
