import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { ExitCode } from '../command.ts';
import { registerCommand } from './register.ts';

const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const runner = fileURLToPath(new URL('./fixtures/run-command.ts', import.meta.url));

let echo: EchoService;
let dir: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
  dir = await mkdtemp(join(tmpdir(), 'taskmesh-cli-gateway-'));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  }
});

afterAll(async () => {
  await echo?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Start `taskmesh gateway` in its own process group; resolves once it prints its URL. */
async function startGatewayCli(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcessWithoutNullStreams; output: () => string }> {
  const child = spawn(node, [runner, 'gateway', ...args], { detached: true, stdio: 'pipe', env: { ...process.env, TASKMESH_ADMIN_TOKEN: '', ...env } });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /^Gateway at (\S+)$/m.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`taskmesh gateway exited with ${code}: ${output}`)));
  });
  return { url, child, output: () => output };
}

async function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function register(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await registerCommand.run(args, { stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}

describe('taskmesh gateway and taskmesh register', () => {
  it('serve a gateway, register an app with it, forward, and keep the registry across a restart', async () => {
    const state = join(dir, 'cli-state.json');
    const first = await startGatewayCli(['--host', '127.0.0.1', '--port', '0', '--state', state, '--log-level', 'silent']);
    const registered = await register([first.url, 'echoer', echo.url]);
    expect(registered).toMatchObject({ code: ExitCode.Ok, stderr: '' });
    expect(registered.stdout).toBe(`Registered "echoer" -> ${echo.url} at ${first.url} (Available; endpoints: echo).\n`);
    const reply = await fetch(`${first.url}/echoer/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"cli"}' });
    expect(await reply.json()).toEqual({ echoed: 'cli' });

    first.child.kill('SIGTERM');
    expect(await exitOf(first.child)).toBe(0);

    const second = await startGatewayCli(['--host', '127.0.0.1', '--port', '0', '--state', state, '--log-level', 'silent']);
    const again = await fetch(`${second.url}/echoer/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"restored"}' });
    expect(await again.json()).toEqual({ echoed: 'restored' });
    second.child.kill('SIGINT');
    expect(await exitOf(second.child)).toBe(0);
  });

  it('register --json prints the app with its health and endpoint schemas', async () => {
    const gateway = await startGatewayCli(['--host', '127.0.0.1', '--port', '0', '--log-level', 'silent']);
    const { code, stdout } = await register([gateway.url, 'echoer', echo.url, '--json']);
    expect(code).toBe(ExitCode.Ok);
    const app = JSON.parse(stdout);
    expect(app).toMatchObject({ name: 'echoer', url: echo.url, health: { status: 'Available', server_id: echo.serverId } });
    expect(app.endpoints.echo.input_schema.required).toEqual(['message']);
  });

  it('register needs the admin token when the gateway is not loopback-only: from --token or the environment', async () => {
    const gateway = await startGatewayCli(['--host', '0.0.0.0', '--port', '0', '--log-level', 'silent'], { TASKMESH_ADMIN_TOKEN: 'cli-secret' });
    const refused = await register([gateway.url, 'echoer', echo.url]);
    expect(refused.code).toBe(ExitCode.Unauthorized);
    expect(refused.stderr).toContain('admin');
    expect((await register([gateway.url, 'echoer', echo.url, '--token', 'wrong'])).code).toBe(ExitCode.Unauthorized);
    expect((await register([gateway.url, 'echoer', echo.url, '--token', 'cli-secret'])).code).toBe(ExitCode.Ok);
    expect((await register([gateway.url, 'other', echo.url], { TASKMESH_ADMIN_TOKEN: 'cli-secret' })).code).toBe(ExitCode.Ok);
  });

  it('register says what is wrong, with the documented exit codes', async () => {
    const gateway = await startGatewayCli(['--host', '127.0.0.1', '--port', '0', '--log-level', 'silent']);
    const missing = await register([gateway.url, 'echoer']);
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toContain('Usage: taskmesh register');
    expect((await register([gateway.url, 'echoer', echo.url, '--nope'])).code).toBe(ExitCode.Usage);

    const badName = await register([gateway.url, 'no spaces', echo.url]);
    expect(badName.code).toBe(ExitCode.CallFailed);
    expect(badName.stderr).toContain('name: App names start with a letter');

    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const { port } = free.address() as { port: number };
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const unreachable = await register([`http://127.0.0.1:${port}`, 'echoer', echo.url]);
    expect(unreachable.code).toBe(ExitCode.Unreachable);
    expect(unreachable.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('gateway refuses wrong options and a port in use', async () => {
    const bad = spawn(node, [runner, 'gateway', '--port', 'eighty'], { detached: true, stdio: 'pipe' });
    children.push(bad);
    let badOutput = '';
    bad.stderr.on('data', (d) => (badOutput += d));
    expect(await exitOf(bad)).toBe(ExitCode.Usage);
    expect(badOutput).toContain('--port takes a whole number');

    const taken = new URL(echo.url).port;
    const busy = spawn(node, [runner, 'gateway', '--host', '127.0.0.1', '--port', taken, '--log-level', 'silent'], { detached: true, stdio: 'pipe' });
    children.push(busy);
    let busyOutput = '';
    busy.stderr.on('data', (d) => (busyOutput += d));
    expect(await exitOf(busy)).toBe(ExitCode.LaunchFailed);
    expect(busyOutput).toContain('already in use');
  });
});
