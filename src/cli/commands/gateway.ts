/** `taskmesh gateway`: serve a Gateway in the foreground until Ctrl-C (or its shutdown endpoint). */
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { exitCodeFor, usageError } from './register.ts';

const usage = `Usage: taskmesh gateway [--host HOST] [--port PORT] [--state FILE] [--upstream-timeout MS] [--health-interval MS] [--log-level LEVEL]

Serve a gateway that forwards /{app}/{path} to the apps registered with it, until Ctrl-C.

  --host HOST              address to listen on (default: the host of the default URL, localhost)
  --port PORT              port to listen on; 0 picks a free one (default: the port of the default URL, 8000)
  --state FILE             keep the registry in FILE, so that it survives restarts (default: in memory)
  --upstream-timeout MS    how long to wait for an app's reply before answering 504 (default 60000)
  --health-interval MS     how often to check every app's health; 0 for never (default 10000)
  --log-level LEVEL        fatal, error, warn, info (default), debug, trace or silent

The admin token for register_app and shutdown comes from ${ADMIN_TOKEN_ENV}; without it, only
loopback callers of a gateway bound to loopback may register apps.
Prints "Gateway at <url>" once it serves.`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function number(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw usageError(`${option} takes a whole number, got "${value}".`);
  return parsed;
}

export const gatewayCommand: CliCommand = {
  name: 'gateway',
  summary: 'Serve a gateway in front of many services',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let gateway: Gateway;
    try {
      const { values } = parseArgs({
        args,
        options: {
          host: { type: 'string' },
          port: { type: 'string' },
          state: { type: 'string' },
          'upstream-timeout': { type: 'string' },
          'health-interval': { type: 'string' },
          'log-level': { type: 'string' },
        },
        strict: true,
        allowPositionals: false,
      });
      const level = values['log-level'] ?? 'info';
      if (!LEVELS.includes(level)) throw usageError(`--log-level takes one of ${LEVELS.join(', ')}; got "${level}".`);
      const upstreamTimeout = number(values['upstream-timeout'], '--upstream-timeout');
      const healthCheckInterval = number(values['health-interval'], '--health-interval');
      gateway = new Gateway({
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(values.port !== undefined ? { port: number(values.port, '--port') } : {}),
        ...(values.state !== undefined ? { stateFile: values.state } : {}),
        ...(upstreamTimeout !== undefined ? { upstreamTimeout } : {}),
        ...(healthCheckInterval !== undefined ? { healthCheckInterval } : {}),
        ...(io.env[ADMIN_TOKEN_ENV] ? { adminToken: io.env[ADMIN_TOKEN_ENV] } : {}),
        logger: level === 'silent' ? false : { level },
      });
    } catch (error) {
      io.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
      return ExitCode.Usage;
    }

    let url: string;
    try {
      url = await gateway.start();
    } catch (error) {
      io.stderr.write(`taskmesh gateway: ${(error as Error).message}\n`);
      return exitCodeFor(error, ExitCode.LaunchFailed);
    }
    io.stdout.write(`Gateway at ${url}\n`);

    const stop = () => void gateway.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await gateway.whenDown();
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return ExitCode.Ok;
  },
};
