/** `taskmesh gateway`: serve a Gateway in the foreground until Ctrl-C (or its shutdown endpoint). */
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import { Gateway } from '../../gateway/gateway.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { UsageError, fail, parseCommandArgs, wholeNumber } from '../support.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const usage = `Usage: taskmesh gateway [--host HOST] [--port PORT] [--state FILE | --redis URL [--redis-key KEY]] [--upstream-timeout MS]
       [--caller-idle-timeout MS] [--trusted-proxy ADDRESS ...] [--health-interval MS] [--log-level LEVEL]

Serve a gateway that forwards /{app}/{path} to the apps registered with it, and lists their MCP
tools on its own MCP endpoint, until Ctrl-C.

  --host HOST              address to listen on (default: the host of the default URL, localhost)
  --port PORT              port to listen on; 0 picks a free one (default: the port of the default URL, 8000)
  --state FILE             keep the registry in FILE, so that it survives restarts (default: in memory)
  --redis URL              keep the registry in Redis at URL (redis://host:6379), shared by every gateway
                           given the same URL and key (needs the @redis/client package)
  --redis-key KEY          prefix of the registry's Redis keys (default taskmesh:gateway)
  --upstream-timeout MS    how long to wait for an app's reply before answering 504 (default 60000)
  --caller-idle-timeout MS how long a caller may stop sending its request body (then 408) or stop
                           reading the reply (then the connection is closed); 0 for no limit
                           (default 60000)
  --trusted-proxy ADDRESS  an address or CIDR range (10.0.0.0/8) of a proxy in front of the gateway,
                           whose X-Forwarded-* headers are passed on; repeat it for more (default none)
  --health-interval MS     how often to check every app's health; 0 for never (default 10000)
  --log-level LEVEL        ${LEVELS.join(', ')} (default info)

The admin token for register_app, unregister_app and shutdown comes from ${ADMIN_TOKEN_ENV};
without it, only loopback callers of a gateway bound to loopback may register apps.
Prints "Gateway at <url>" once it serves.`;

function gatewayFrom(args: string[], io: CliIo): Gateway {
  const { values, positionals } = parseCommandArgs(args, {
    host: { type: 'string' },
    port: { type: 'string' },
    state: { type: 'string' },
    redis: { type: 'string' },
    'redis-key': { type: 'string' },
    'upstream-timeout': { type: 'string' },
    'caller-idle-timeout': { type: 'string' },
    'trusted-proxy': { type: 'string', multiple: true },
    'health-interval': { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`gateway takes no arguments, only options; got "${positionals.join(' ')}".`);
  const level = values['log-level'] ?? 'info';
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level takes one of ${LEVELS.join(', ')}; got "${level}".`);
  const port = wholeNumber(values.port, '--port');
  const upstreamTimeout = wholeNumber(values['upstream-timeout'], '--upstream-timeout', 1);
  const callerIdleTimeout = wholeNumber(values['caller-idle-timeout'], '--caller-idle-timeout');
  const healthCheckInterval = wholeNumber(values['health-interval'], '--health-interval');
  const token = io.env[ADMIN_TOKEN_ENV];
  return new Gateway({
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.state !== undefined ? { stateFile: values.state } : {}),
    ...(values.redis !== undefined ? { redisUrl: values.redis } : {}),
    ...(values['redis-key'] !== undefined ? { redisKey: values['redis-key'] } : {}),
    ...(upstreamTimeout !== undefined ? { upstreamTimeout } : {}),
    ...(callerIdleTimeout !== undefined ? { callerIdleTimeout } : {}),
    ...(values['trusted-proxy'] !== undefined ? { trustedProxies: values['trusted-proxy'] } : {}),
    ...(healthCheckInterval !== undefined ? { healthCheckInterval } : {}),
    ...(token ? { adminToken: token } : {}),
    logger: level === 'silent' ? false : { level },
  });
}

export const gatewayCommand: CliCommand = {
  name: 'gateway',
  summary: 'Serve a gateway in front of many services',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let gateway: Gateway;
    try {
      gateway = gatewayFrom(args, io);
      io.stdout.write(`Gateway at ${await gateway.start()}\n`);
    } catch (error) {
      return fail(io, gatewayCommand, error, ExitCode.LaunchFailed);
    }
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
