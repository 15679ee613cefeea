import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { runCli, startCli, stopCli, type CliRun } from '../../../test/helpers/cli.ts';
import { freePort } from '../../../test/helpers/free-port.ts';
import { hasRedisServer, needsRedis, startRedis } from '../../../test/helpers/redis.ts';
import { startUpstream, type Received } from '../../gateway/test-support.ts';
import { ExitCode } from '../command.ts';

let echo: EchoService;
let dir: string;
const runs: CliRun[] = [];
/** No admin token from the machine running the tests, unless a test gives one. */
const noToken = { TASKMESH_ADMIN_TOKEN: '' };

beforeAll(async () => {
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
  dir = await mkdtemp(join(tmpdir(), 'taskmesh-cli-gateway-'));
});

afterEach(() => {
  for (const run of runs.splice(0)) stopCli(run);
});

afterAll(async () => {
  await echo?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `taskmesh gateway ...` in its own process group; resolves once it prints its URL. */
async function gatewayCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string; run: CliRun }> {
  const run = startCli(['gateway', '--log-level', 'silent', ...args], { env: { ...noToken, ...env } });
  runs.push(run);
  const url = await new Promise<string>((resolve, reject) => {
    run.child.stdout!.on('data', () => {
      const match = /^Gateway at (\S+)$/m.exec(run.stdout());
      if (match) resolve(match[1]!);
    });
    void run.done.then((result) => reject(new Error(`taskmesh gateway exited with ${result.code}: ${result.stderr}`)));
  });
  return { url, run };
}

const register = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['register', ...args], { env: { ...noToken, ...env } });

async function echoThrough(url: string, message: string): Promise<unknown> {
  const reply = await fetch(`${url}/echoer/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
  return reply.json();
}

describe('taskmesh gateway and taskmesh register', () => {
  it('serve a gateway, register an app with it, forward, and keep the registry across a restart', async () => {
    const state = join(dir, 'cli-state.json');
    const first = await gatewayCli(['--host', '127.0.0.1', '--port', '0', '--state', state]);
    const registered = await register([first.url, 'echoer', echo.url]);
    expect(registered.stderr).toBe('');
    expect(registered.code).toBe(ExitCode.Ok);
    expect(registered.stdout).toBe(`Registered "echoer" -> ${echo.url} at ${first.url} (Available; endpoints: echo).\n`);
    expect(await echoThrough(first.url, 'cli')).toEqual({ echoed: 'cli' });

    first.run.child.kill('SIGTERM');
    expect((await first.run.done).code).toBe(0);

    const second = await gatewayCli(['--host', '127.0.0.1', '--port', '0', '--state', state]);
    expect(await echoThrough(second.url, 'restored')).toEqual({ echoed: 'restored' });
    second.run.child.kill('SIGINT');
    expect((await second.run.done).code).toBe(0);
  });

  it('register --json prints the app with its health and endpoint schemas; the gateway URL may be host:port', async () => {
    const gateway = await gatewayCli(['--host', '127.0.0.1', '--port', '0']);
    const { code, stdout } = await register([gateway.url.replace('http://', ''), 'echoer', echo.url, '--json']);
    expect(code).toBe(ExitCode.Ok);
    const app = JSON.parse(stdout);
    expect(app).toMatchObject({ name: 'echoer', url: echo.url, health: { status: 'Available', server_id: echo.serverId } });
    expect(app.endpoints.echo.input_schema.required).toEqual(['message']);
  });

  it('register needs the admin token when the gateway is not loopback-only: from --token or the environment', async () => {
    const gateway = await gatewayCli(['--host', '0.0.0.0', '--port', '0'], { TASKMESH_ADMIN_TOKEN: 'cli-secret' });
    const refused = await register([gateway.url, 'echoer', echo.url]);
    expect(refused.code).toBe(ExitCode.Unauthorized);
    expect(refused.stderr).toContain('admin token');
    expect((await register([gateway.url, 'echoer', echo.url, '--token', 'wrong'])).code).toBe(ExitCode.Unauthorized);
    expect((await register([gateway.url, 'echoer', echo.url, '--token', 'cli-secret'])).code).toBe(ExitCode.Ok);
    expect((await register([gateway.url, 'other', echo.url], { TASKMESH_ADMIN_TOKEN: 'cli-secret' })).code).toBe(ExitCode.Ok);
  });

  it('register says what is wrong, with the documented exit codes', async () => {
    const gateway = await gatewayCli(['--host', '127.0.0.1', '--port', '0']);
    const missing = await register([gateway.url, 'echoer']);
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toContain('Usage: taskmesh register');
    expect((await register([gateway.url, 'echoer', echo.url, '--nope'])).code).toBe(ExitCode.Usage);

    const badName = await register([gateway.url, 'no spaces', echo.url]);
    expect(badName.code).toBe(ExitCode.CallFailed);
    expect(badName.stderr).toContain('name: App names start with a letter');

    const port = await freePort();
    const unreachable = await register([`http://127.0.0.1:${port}`, 'echoer', echo.url]);
    expect(unreachable.code).toBe(ExitCode.Unreachable);
    expect(unreachable.stderr).toContain(`127.0.0.1:${port}`);
  });

  it.skipIf(!hasRedisServer)(`two gateways given one --redis share their registry: an app registered with one is forwarded by the other${needsRedis}`, async () => {
    const redis = await startRedis();
    try {
      const shared = ['--redis', redis.url, '--redis-key', 'cli-test'];
      const first = await gatewayCli(['--host', '127.0.0.1', '--port', '0', ...shared]);
      const second = await gatewayCli(['--host', '127.0.0.1', '--port', '0', ...shared]);
      expect((await register([first.url, 'echoer', echo.url])).code).toBe(ExitCode.Ok);
      let reply: unknown;
      for (let i = 0; i < 100 && JSON.stringify(reply) !== '{"echoed":"shared"}'; i++) {
        reply = await echoThrough(second.url, 'shared');
        await sleep(20);
      }
      expect(reply).toEqual({ echoed: 'shared' });
      const both = await runCli(['gateway', '--port', '0', '--state', join(dir, 'x.json'), '--redis', redis.url, '--log-level', 'silent']);
      expect(both.code).toBe(ExitCode.Usage);
      expect(both.stderr).toContain('not both');
    } finally {
      for (const run of runs.splice(0)) stopCli(run);
      await redis.dispose();
    }
  });

  it('gateway takes the caller idle timeout and the trusted proxies', async () => {
    const upstream = await startUpstream();
    try {
      const { url } = await gatewayCli(['--host', '127.0.0.1', '--port', '0', '--caller-idle-timeout', '300', '--trusted-proxy', '127.0.0.1']);
      expect((await register([url, 'up', upstream.url])).code).toBe(ExitCode.Ok);
      const inspected = await fetch(`${url}/up/inspect`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.9' }, body: 'x' });
      expect(((await inspected.json()) as Received).headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      socket.on('error', () => {});
      socket.write('POST /up/inspect HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\nabc');
      const [answer] = (await once(socket, 'data')) as [Buffer];
      socket.destroy();
      expect(answer.toString()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await upstream.close();
    }
  });

  it('gateway refuses wrong options and a port in use', async () => {
    const bad = await runCli(['gateway', '--port', 'eighty']);
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.stderr).toContain('--port takes a whole number');
    expect((await runCli(['gateway', 'extra'])).code).toBe(ExitCode.Usage);
    expect((await runCli(['gateway', '--log-level', 'loud'])).stderr).toContain('--log-level takes one of');
    expect((await runCli(['gateway', '--caller-idle-timeout', 'soon'])).stderr).toContain('--caller-idle-timeout takes a whole number of at least 0');
    const proxy = await runCli(['gateway', '--trusted-proxy', '10.0.0.0/8', '--trusted-proxy', 'proxy.internal']);
    expect(proxy.code).toBe(ExitCode.Usage);
    expect(proxy.stderr).toContain('trustedProxies: "proxy.internal" is not an IP address or CIDR range');

    const busy = await runCli(['gateway', '--host', '127.0.0.1', '--port', new URL(echo.url).port, '--log-level', 'silent']);
    expect(busy.code).toBe(ExitCode.LaunchFailed);
    expect(busy.stderr).toContain('already in use');
  });
});
