import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, DefinitionError, ErrorCodes, Service, ServerStatus, TaskmeshError } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { ProbeService } from '../../test/fixtures/launch/probe.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { groupMembers, isAlive, killGroup, waitFor } from '../../test/helpers/processes.ts';
import { launch } from './launch.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-launch-'));
const logDir = join(dir, 'logs');
const pidDir = join(dir, 'pids');
process.env.TASKMESH_LOG_DIR = logDir;
process.env.TASKMESH_PID_DIR = pidDir;

const groups: number[] = [];
/** Every launched process group is killed after its test, whatever happened in it. */
function track<T extends { pid: number | undefined }>(client: T): T {
  if (client.pid) groups.push(client.pid);
  return client;
}
afterEach(() => {
  for (const pgid of groups.splice(0)) killGroup(pgid);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const local = { host: '127.0.0.1', port: 0, progress: false } as const;

async function rejection(promise: Promise<unknown>): Promise<TaskmeshError> {
  try {
    await promise;
  } catch (error) {
    return error as TaskmeshError;
  }
  throw new Error('expected a rejection');
}

describe('Service.launch', () => {
  it('serves a class from its TypeScript module in a process of its own, and the client knows the real URL of port 0', async () => {
    const cm = track(await EchoService.launch(local));
    expect(cm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(cm.url).port).not.toBe('0');
    expect(cm.pid).not.toBe(process.pid);
    expect(isAlive(cm.pid!)).toBe(true);
    await expect(cm.echo({ message: 'hi' })).resolves.toEqual({ echoed: 'hi' });
    expect(await cm.status()).toBe(ServerStatus.Available);
    expect(cm.serverId).toBe((await cm.heartbeat()).server_id);
    // The service's log lines go to its own log file, under the configured folder.
    expect(cm.logFile!.startsWith(`${logDir}/EchoService-`)).toBe(true);
    await waitFor(() => readFileSync(cm.logFile!, 'utf8').includes('"url":"/echo"'), 5_000, 'the request log line');
    await cm.close();
    expect(await EchoService.statusAtHost(cm.url)).toBe(ServerStatus.Down);
    await waitFor(() => groupMembers(cm.pid!).length === 0, 5_000, 'the process to exit');
  });

  it('writes a pid file while serving, answers its path, and removes it when the service stops', async () => {
    const cm = track(await EchoService.launch(local));
    const pidFile = await cm.pidFile();
    expect(pidFile).toMatch(new RegExp(`^${pidDir}/EchoService-.*\\.pid$`));
    expect(readFileSync(pidFile!, 'utf8').trim()).toBe(String(cm.pid));
    // For a service it launched, shutdown() waits until the process has exited: its pid file is gone by then.
    await cm.shutdown();
    expect(isAlive(cm.pid!)).toBe(false);
    expect(existsSync(pidFile!)).toBe(false);
  });

  it('stops the service at the end of an `await using` scope', async () => {
    let pid: number | undefined;
    let url: string;
    {
      await using cm = track(await EchoService.launch(local));
      pid = cm.pid;
      url = cm.url;
      expect(await cm.status()).toBe(ServerStatus.Available);
    }
    expect(await EchoService.statusAtHost(url)).toBe(ServerStatus.Down);
    await waitFor(() => groupMembers(pid!).length === 0, 5_000, 'the process to exit');
  });

  it('stops a service bound beyond loopback, which refuses a shutdown call without a token, when its client is closed', async () => {
    const saved = process.env.TASKMESH_ADMIN_TOKEN;
    delete process.env.TASKMESH_ADMIN_TOKEN;
    try {
      const cm = track(await EchoService.launch({ ...local, host: '0.0.0.0' }));
      expect((await rejection(cm.shutdown())).code).toBe(ErrorCodes.UNAUTHORIZED);
      await cm.close();
      expect(isAlive(cm.pid!)).toBe(false);
    } finally {
      if (saved !== undefined) process.env.TASKMESH_ADMIN_TOKEN = saved;
    }
  });

  it('hands init options and the admin token to the service, but never through argv, the environment or the log', async () => {
    const secret = `secret-${randomUUID()}`;
    const token = `token-${randomUUID()}`;
    // Bound to every address, the service takes admin calls only with its token, even from loopback.
    const cm = track(await ProbeService.launch({ host: '0.0.0.0', port: 0, progress: false, greeting: 'hello', secret, limits: { max: 3, tags: ['a'] }, adminToken: token }));
    const me = await cm.whoami();
    expect(me.init).toEqual({ greeting: 'hello', secret, limits: { max: 3, tags: ['a'] } });
    expect(me.hasAdminToken).toBe(true);

    const ps = execFileSync('ps', ['eww', '-o', 'args=', '-p', String(cm.pid)], { encoding: 'utf8' });
    expect(ps).toContain('child.ts'); // the right process: the launcher entry
    const seen = [ps, readFileSync(`/proc/${cm.pid}/cmdline`, 'utf8'), readFileSync(`/proc/${cm.pid}/environ`, 'utf8'), readFileSync(cm.logFile!, 'utf8')];
    for (const text of seen) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(token);
    }

    // The token reached the service: a wrong one is refused, the launcher's client (which has it) stops it.
    const stranger = await ProbeService.connect(cm.url, { token: 'wrong' });
    await expect(stranger.shutdown()).rejects.toMatchObject({ status: 401, code: ErrorCodes.UNAUTHORIZED });
    await stranger.close();
    await cm.close();
    expect(await ProbeService.statusAtHost(cm.url)).toBe(ServerStatus.Down);
  });

  it('keeps V8\'s compile cache for the launched process, unless NODE_DISABLE_COMPILE_CACHE says not to', async () => {
    const cached = track(await ProbeService.launch({ ...local }));
    expect((await cached.whoami()).compileCache).toEqual(expect.stringContaining('node-compile-cache'));
    await cached.close();
    process.env.NODE_DISABLE_COMPILE_CACHE = '1';
    try {
      const uncached = track(await ProbeService.launch({ ...local }));
      expect((await uncached.whoami()).compileCache).toBeNull();
      await uncached.close();
    } finally {
      delete process.env.NODE_DISABLE_COMPILE_CACHE;
    }
  });

  it('numWorkers: 2 serves one port from two processes with one server id, and replaces a worker that dies', async () => {
    const cm = track(await ProbeService.launch({ ...local, numWorkers: 2 }));
    expect(new URL(cm.url).port).not.toBe('0');
    // A new connection per request, so that the cluster spreads them over the workers.
    const whoami = async () => {
      const response = await request(`${cm.url}/whoami`, { method: 'POST', reset: true });
      return (await response.body.json()) as { pid: number; serverId: string };
    };
    const workers = new Set<number>();
    await waitFor(async () => {
      const me = await whoami();
      expect(me.serverId).toBe(cm.serverId);
      workers.add(me.pid);
      return workers.size === 2;
    }, 15_000, 'answers from both workers');
    expect(workers.has(cm.pid!)).toBe(false); // the primary only supervises
    expect(groupMembers(cm.pid!).sort()).toEqual([cm.pid!, ...workers].sort());

    const [victim, survivor] = [...workers] as [number, number];
    process.kill(victim, 'SIGKILL');
    const replacement = await waitFor(() => groupMembers(cm.pid!).find((pid) => pid !== cm.pid && pid !== survivor && pid !== victim), 15_000, 'a replacement worker');
    await waitFor(async () => (await whoami()).pid === replacement, 15_000, 'an answer from the replacement');
    expect((await whoami()).serverId).toBe(cm.serverId);
    const log = readFileSync(cm.logFile!, 'utf8');
    expect(log).toContain(`worker ${victim} died (signal SIGKILL); starting a replacement`);

    // The pid file holds the primary's pid; a shutdown through any worker stops the whole group.
    const pidFile = (await cm.pidFile())!;
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(cm.pid));
    await cm.shutdown();
    await waitFor(() => groupMembers(cm.pid!).length === 0, 15_000, 'every process of the group to exit');
    expect(existsSync(pidFile)).toBe(false);
  });

  it('waitForLaunch: false returns without a client, and the service comes up by itself', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const result = await ProbeService.launch({ host: '127.0.0.1', port, waitForLaunch: false, progress: false });
    expect(result).toBeUndefined();
    await waitFor(async () => (await ProbeService.statusAtHost(url)) === ServerStatus.Available, 15_000, 'the service to answer');
    const cm = await ProbeService.connect(url);
    groups.push((await cm.whoami()).pid);
    await cm.shutdown();
    await cm.close();
  });

  it('block: true resolves once the service has stopped', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let settled = false;
    const blocking = ProbeService.launch({ host: '127.0.0.1', port, block: true, progress: false, logger: { level: 'warn' } }).finally(() => (settled = true));
    await waitFor(async () => (await ProbeService.statusAtHost(url)) === ServerStatus.Available, 15_000, 'the service to answer');
    const cm = await ProbeService.connect(url);
    groups.push((await cm.whoami()).pid);
    expect(settled).toBe(false);
    await cm.shutdown();
    await cm.close();
    await expect(blocking).resolves.toBeUndefined();
  });

  it('launch("module#Export") serves a module\'s export, with a client built from its detailed_endpoints', async () => {
    const cm = track(await launch('examples/echo/echo.service.ts#EchoService', local));
    expect(await cm.className()).toBe('EchoService');
    await expect(cm.echo({ message: 'dynamic' })).resolves.toEqual({ echoed: 'dynamic' });
    await cm.close();
  });
});

describe('Service.launch refuses, before spawning anything', () => {
  const logFiles = () => (existsSync(logDir) ? readdirSync(logDir).length : 0);

  it('a URL where a service already answers', async () => {
    await using running = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    await running.start();
    const before = logFiles();
    const error = await rejection(EchoService.launch({ url: running.url, progress: false }));
    expect(error.code).toBe(ErrorCodes.PORT_IN_USE);
    expect(error.message).toBe(
      `Cannot launch EchoService at ${running.url}: a service already answers there (status Available). Stop it (\`taskmesh shutdown ${running.url}\`), connect to it instead, or choose another port (port 0 picks a free one).`,
    );
    expect(logFiles()).toBe(before);
  });

  it('a URL where something other than a service answers', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const error = await rejection(EchoService.launch({ host: '127.0.0.1', port, progress: false }));
      expect(error.code).toBe(ErrorCodes.PORT_IN_USE);
      expect(error.message).toMatch(new RegExp(`^Cannot launch EchoService at http://127\\.0\\.0\\.1:${port}: something already answers there \\(status failed with 404`));
    } finally {
      server.close();
    }
  });

  it('init options that are not JSON data', async () => {
    const before = logFiles();
    const error = await rejection(ProbeService.launch({ ...local, greeting: 'hi', limits: { max: 1, tags: [] }, onConnect: () => {} } as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('The init option `onConnect` is a function');
    expect(logFiles()).toBe(before);
  });

  it('a class that does not say which module defines it', async () => {
    class Unlocated extends Service {}
    const error = await rejection(Unlocated.launch(local));
    expect(error).toBeInstanceOf(DefinitionError);
    expect(error.message).toContain('Build it with Service.for(contract, import.meta.url), or add `static override moduleUrl = import.meta.url` to the class.');
  });
});
