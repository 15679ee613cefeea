import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { mcpPath } from '../config.ts';
import { Gateway } from './gateway.ts';
import { getJson, postJson, startGateway, startUpstream } from './test-support.ts';

let echo: EchoService;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
const gateways: Gateway[] = [];
let dir: string;

beforeAll(async () => {
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'taskmesh-gateway-'));
});

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
});

afterAll(async () => {
  await echo?.stop();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function gateway(options: ConstructorParameters<typeof Gateway>[0] = {}): Promise<Gateway> {
  const made = await startGateway(options);
  gateways.push(made);
  return made;
}

async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    await sleep(50);
  }
}

describe('register_app', () => {
  it('registers an app with its URL, health and endpoint schemas', async () => {
    const gw = await gateway();
    const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'echoer', url: `${echo.url}/` });
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'echoer', url: echo.url, health: { status: 'Available', server_id: echo.serverId } });
    expect(body.endpoints.echo.input_schema.properties.message).toEqual({ type: 'string' });
    const list = await getJson(`${gw.url}/list_apps`);
    expect(Object.keys(list.apps)).toEqual(['echoer']);
    expect(list.apps.echoer.endpoints.echo.output_schema.required).toEqual(['echoed']);
  });

  it('replaces an app registered again under the same name', async () => {
    const gw = await gateway();
    await postJson(`${gw.url}/register_app`, { name: 'app', url: echo.url });
    const replaced = await postJson(`${gw.url}/register_app`, { name: 'app', url: upstream.url });
    expect(replaced.body.url).toBe(upstream.url);
    const list = await getJson(`${gw.url}/list_apps`);
    expect(Object.keys(list.apps)).toEqual(['app']);
    expect(list.apps.app.url).toBe(upstream.url);
    // Forwarding follows the new URL: the plain upstream answers /inspect, the echo service would 404.
    const response = await fetch(`${gw.url}/app/inspect`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { url: string }).url).toBe('/inspect');
  });

  it('registers an app that does not answer yet, as Down', async () => {
    const gw = await gateway();
    const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'later', url: `http://127.0.0.1:${await freePort()}` });
    expect(status).toBe(200);
    expect(body.health.status).toBe('Down');
    expect(body.health.message).toContain('ECONNREFUSED');
    expect(body.endpoints).toEqual({});
  });

  it('refuses bad names and URLs with 422 and says why', async () => {
    const gw = await gateway();
    for (const [input, path] of [
      [{ name: 'has space', url: echo.url }, 'name'],
      [{ name: '9starts-with-digit', url: echo.url }, 'name'],
      [{ name: 'x'.repeat(33), url: echo.url }, 'name'],
      [{ name: 'ok', url: 'ftp://example.com' }, 'url'],
      [{ name: 'ok', url: 'http://user:pw@example.com' }, 'url'],
      [{ name: 'ok', url: 'http://example.com/?q=1' }, 'url'],
      [{ name: 'ok', url: 'not a url' }, 'url'],
      [{ name: 'status', url: echo.url }, 'name'],
      [{ name: 'docs', url: echo.url }, 'name'],
      [{ name: 'itself', url: gw.url }, 'url'],
      [{ name: 'itself', url: gw.url.replace('127.0.0.1', 'localhost') }, 'url'],
    ] as const) {
      const { status, body } = await postJson(`${gw.url}/register_app`, input);
      expect(status, JSON.stringify(input)).toBe(422);
      expect(body.code).toBe(ErrorCodes.INVALID_INPUT);
      expect(body.issues.map((i: { path: string[] }) => i.path[0])).toContain(path);
    }
    expect((await getJson(`${gw.url}/list_apps`)).apps).toEqual({});
  });

  it('refuses its own address however it is spelt: behind a port forward it still answers with its own server id', async () => {
    const gw = await gateway();
    const sockets = new Set<Socket>();
    const forward = createServer((socket) => {
      const onward = connect(Number(new URL(gw.url).port), '127.0.0.1');
      for (const s of [socket, onward]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      socket.pipe(onward).pipe(socket);
    });
    await new Promise<void>((resolve) => forward.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(forward.address() as AddressInfo).port}`;
      const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'loop', url });
      expect(status).toBe(422);
      expect(body.message).toBe(`${url} is this gateway itself; register the app's own URL.`);
      expect((await getJson(`${gw.url}/list_apps`)).apps).toEqual({});
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => forward.close(resolve));
    }
  });

  it('refuses its own address under a path prefix, and answers 508 when an app leads back to it later', async () => {
    const gw = await gateway();
    const prefixed = await postJson(`${gw.url}/register_app`, { name: 'loop', url: `${gw.url}/loop` });
    expect(prefixed.status).toBe(422);
    expect(prefixed.body.message).toContain('is this gateway itself');
    // An app that leads to the gateway once registered: through another gateway that forwards back here.
    const other = await gateway();
    expect((await postJson(`${other.url}/register_app`, { name: 'back', url: `${gw.url}/round` })).status).toBe(200);
    expect((await postJson(`${gw.url}/register_app`, { name: 'round', url: `${other.url}/back` })).status).toBe(200);
    const { status, body } = await postJson(`${gw.url}/round/echo`, { message: 'loop' });
    expect(status).toBe(508);
    expect(body).toMatchObject({ code: ErrorCodes.FORWARDING_LOOP, message: expect.stringContaining('came back to this gateway') });
  });

  it('refuses a caller without the token when the gateway is not loopback-only', async () => {
    const gw = await gateway({ host: '0.0.0.0' });
    const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url });
    expect(status).toBe(401);
    expect(body.code).toBe(ErrorCodes.UNAUTHORIZED);
    expect(body.message).toContain('TASKMESH_ADMIN_TOKEN');
    expect((await postJson(`${gw.url}/unregister_app`, { name: 'echoer' })).status).toBe(401);
  });

  it('takes the admin token from any caller, and refuses a wrong one', async () => {
    const gw = await gateway({ host: '0.0.0.0', adminToken: 'gateway-secret' });
    const input = { name: 'echoer', url: echo.url };
    expect((await postJson(`${gw.url}/register_app`, input, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await postJson(`${gw.url}/register_app`, input)).status).toBe(401);
    expect((await postJson(`${gw.url}/register_app`, input, { authorization: 'Bearer gateway-secret' })).status).toBe(200);
  });

  it('treats a proxied loopback caller as remote', async () => {
    const gw = await gateway();
    const { status } = await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url }, { 'x-forwarded-for': '198.51.100.7' });
    expect(status).toBe(401);
    expect((await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url })).status).toBe(200);
  });
});

describe('unregister_app', () => {
  it('removes an app; forwarding to it then answers 404', async () => {
    const gw = await gateway();
    await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url });
    expect((await postJson(`${gw.url}/echoer/echo`, { message: 'x' })).status).toBe(200);
    expect(await postJson(`${gw.url}/unregister_app`, { name: 'echoer' })).toMatchObject({ status: 200, body: { removed: 'echoer' } });
    const after = await postJson(`${gw.url}/echoer/echo`, { message: 'x' });
    expect(after.status).toBe(404);
    expect(after.body.code).toBe(ErrorCodes.APP_NOT_REGISTERED);
  });

  it('answers 404 for an app that is not registered', async () => {
    const gw = await gateway();
    const { status, body } = await postJson(`${gw.url}/unregister_app`, { name: 'ghost' });
    expect(status).toBe(404);
    expect(body.message).toContain('"ghost"');
  });
});

describe('health', () => {
  it('aggregates the apps heartbeats, keyed by app, with an unreachable one Down', async () => {
    const gw = await gateway();
    await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url });
    await postJson(`${gw.url}/register_app`, { name: 'gone', url: `http://127.0.0.1:${await freePort()}` });
    await postJson(`${gw.url}/register_app`, { name: 'plain', url: upstream.url });
    const { heartbeat } = await getJson(`${gw.url}/heartbeat`);
    expect(heartbeat.status).toBe('Available');
    expect(heartbeat.server_id).toBe(gw.serverId);
    expect(heartbeat.details.echoer).toMatchObject({ status: 'Available', server_id: echo.serverId, message: 'EchoService is available.' });
    expect(heartbeat.details.gone).toMatchObject({ status: 'Down', server_id: null });
    expect(heartbeat.details.gone.message).toContain('ECONNREFUSED');
    // Not a taskmesh service: it answers, so it is up, and the message says the health is reachability only.
    expect(heartbeat.details.plain).toMatchObject({ status: 'Available', server_id: null });
    expect(heartbeat.details.plain.message).toContain('no taskmesh heartbeat');
  });

  it('gives up on an app that does not answer within the health check timeout, and says so', async () => {
    const gw = await gateway({ healthCheckTimeout: 200 });
    // Every path under /hang accepts the request and never answers.
    const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'silent', url: `${upstream.url}/hang` });
    expect(status).toBe(200);
    expect(body.health).toMatchObject({ status: 'Down', server_id: null, message: expect.stringContaining('no answer within 200 ms') });
    const { heartbeat } = await getJson(`${gw.url}/heartbeat`);
    expect(heartbeat.details.silent).toMatchObject({ status: 'Down', message: expect.stringContaining('no answer within 200 ms') });
  });

  it('checks apps at the configured interval and notices one going down and coming back', async () => {
    const app = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    const url = await app.start();
    const gw = await gateway({ healthCheckInterval: 50 });
    await postJson(`${gw.url}/register_app`, { name: 'flaky', url });
    const listed = async () => (await getJson(`${gw.url}/list_apps`)).apps.flaky;
    expect((await listed()).health.status).toBe('Available');
    await app.stop();
    const down = await until(listed, (a) => a.health.status === 'Down');
    expect(down.health.message).toContain('down');
    const again = new EchoService({ url, logger: false });
    await again.start();
    try {
      const back = await until(listed, (a) => a.health.status === 'Available');
      // Another process answers now: a new server id, and the endpoints read again.
      expect(back.health.server_id).toBe(again.serverId);
      expect(Object.keys(back.endpoints)).toContain('echo');
    } finally {
      await again.stop();
    }
  });
});

describe('state file', () => {
  it('restores the registry after a restart', async () => {
    const stateFile = join(dir, 'restart', 'gateway.json');
    const first = await gateway({ stateFile });
    await postJson(`${first.url}/register_app`, { name: 'echoer', url: echo.url });
    await postJson(`${first.url}/register_app`, { name: 'plain', url: `${upstream.url}/base` });
    await postJson(`${first.url}/register_app`, { name: 'dropped', url: upstream.url });
    await postJson(`${first.url}/unregister_app`, { name: 'dropped' });
    await first.stop();
    const saved = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.apps.map((a: { name: string; url: string }) => [a.name, a.url])).toEqual([
      ['echoer', echo.url],
      ['plain', `${upstream.url}/base`],
    ]);

    const second = await gateway({ stateFile });
    expect(Object.keys((await getJson(`${second.url}/list_apps`)).apps)).toEqual(['echoer', 'plain']);
    expect((await postJson(`${second.url}/echoer/echo`, { message: 'after restart' })).body).toEqual({ echoed: 'after restart' });
    expect((await getJson(`${second.url}/plain/inspect`)).url).toBe('/base/inspect');
    // Health and endpoints are learned again from the apps themselves.
    const restored = await until(
      async () => (await getJson(`${second.url}/list_apps`)).apps.echoer,
      (a) => a.health.status === 'Available',
    );
    expect(Object.keys(restored.endpoints)).toContain('echo');
  });

  it('says at start where the registry is kept and how many apps it restored', async () => {
    const stateFile = join(dir, 'said', 'gateway.json');
    const first = await gateway({ stateFile });
    await postJson(`${first.url}/register_app`, { name: 'echoer', url: echo.url });
    await first.stop();
    const logs = logCapture();
    await gateway({ stateFile, logger: { level: 'info', stream: logs.stream } });
    expect(logs.lines.find((line) => 'registry' in line)).toMatchObject({ registry: `state file ${stateFile}`, apps: 1, msg: `registry: state file ${stateFile}, 1 app restored` });
  });

  it('refuses to start on a corrupt state file, naming it', async () => {
    const stateFile = join(dir, 'corrupt.json');
    await writeFile(stateFile, '{"version": 1, "apps": [{"name": "x"');
    const gw = new Gateway({ host: '127.0.0.1', port: 0, logger: false, stateFile });
    await expect(gw.start()).rejects.toMatchObject({ code: ErrorCodes.CONFIG, message: expect.stringContaining(stateFile) });
    await writeFile(stateFile, JSON.stringify({ version: 1, apps: [{ name: 'bad name', url: 'http://x' }] }));
    const again = new Gateway({ host: '127.0.0.1', port: 0, logger: false, stateFile });
    await expect(again.start()).rejects.toMatchObject({ message: expect.stringContaining('not a taskmesh gateway state') });
  });

  it('fails a registration it cannot save, and keeps the registry as it was', async () => {
    const stateFile = join(dir, 'unwritable', 'gateway.json');
    const gw = await gateway({ stateFile });
    // A non-empty folder where the file should go: the rename onto it fails.
    await mkdir(join(stateFile, 'blocker'), { recursive: true });
    const { status, body } = await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url });
    expect(status).toBe(500);
    expect(body.code).toBe(ErrorCodes.CONFIG);
    expect(body.message).toContain(stateFile);
    expect((await getJson(`${gw.url}/list_apps`)).apps).toEqual({});
  });
});

describe('workers', () => {
  /** A request on a connection of its own, which the cluster hands to one worker or the other. */
  async function fresh(url: string, body?: unknown): Promise<{ status: number; body: any; worker: string }> {
    const res = await request(url, { method: body === undefined ? 'GET' : 'POST', reset: true, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    const text = await res.body.text();
    // A request id's random part is drawn once per process: it tells the workers apart.
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, worker: String(res.headers['x-request-id']).slice(0, 23) };
  }

  async function freshMcp(url: string, body: unknown): ReturnType<typeof fresh> {
    const res = await request(url, { method: 'POST', reset: true, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(body) });
    return { status: res.statusCode, body: await res.body.json(), worker: String(res.headers['x-request-id']).slice(0, 23) };
  }

  it('serve one registry, kept by the cluster\'s primary (and its state file): every worker forwards what any worker registered', async () => {
    const stateFile = join(dir, 'workers', 'gateway.json');
    const gw = await Gateway.launch({ host: '127.0.0.1', port: 0, numWorkers: 2, progress: false, logDir: dir, pidFile: join(dir, 'workers.pid'), stateFile, healthCheckInterval: 0 });
    try {
      // Two registrations at once, each likely taken by another worker: both land.
      const registered = await Promise.all([fresh(`${gw.url}/register_app`, { name: 'echoer', url: echo.url }), fresh(`${gw.url}/register_app`, { name: 'plain', url: upstream.url })]);
      expect(registered.map((r) => r.status)).toEqual([200, 200]);
      const calls = [];
      for (let i = 0; i < 6; i++) calls.push(await fresh(`${gw.url}/echoer/echo`, { message: `call ${i}` }));
      expect(calls.map((c) => [c.status, c.body])).toEqual(calls.map((_c, i) => [200, { echoed: `call ${i}` }]));
      const listed = [];
      for (let i = 0; i < 4; i++) listed.push(await fresh(`${gw.url}/list_apps`));
      expect(listed.map((l) => Object.keys(l.body.apps))).toEqual(listed.map(() => ['echoer', 'plain']));
      // Both workers answered.
      expect(new Set([...calls, ...listed].map((c) => c.worker)).size).toBe(2);
      expect(JSON.parse(await readFile(stateFile, 'utf8')).apps.map((a: { name: string }) => a.name).sort()).toEqual(['echoer', 'plain']);
      // Every worker's MCP endpoint lists the app's tools too.
      const mcp = `${gw.url}${mcpPath()}`;
      const toolLists = await until(
        async () => {
          const lists = [];
          for (let i = 0; i < 4; i++) lists.push(await freshMcp(mcp, { jsonrpc: '2.0', id: i, method: 'tools/list' }));
          return lists;
        },
        (lists) => lists.every((l) => l.body.result.tools.some((t: { name: string }) => t.name === 'echoer_echo')),
      );
      expect(new Set(toolLists.map((l) => l.worker)).size).toBe(2);

      expect((await fresh(`${gw.url}/unregister_app`, { name: 'echoer' })).status).toBe(200);
      const after = [];
      for (let i = 0; i < 4; i++) after.push(await fresh(`${gw.url}/echoer/echo`, { message: 'gone' }));
      expect(after.map((a) => [a.status, a.body.code])).toEqual(after.map(() => [404, ErrorCodes.APP_NOT_REGISTERED]));
      expect(new Set(after.map((a) => a.worker)).size).toBe(2);
      expect(JSON.parse(await readFile(stateFile, 'utf8')).apps.map((a: { name: string }) => a.name)).toEqual(['plain']);
    } finally {
      await gw.shutdown({ block: true });
    }
  });

  it('refuses to run in a cluster of the user\'s own, whose workers\' registries would diverge', () => {
    const run = spawnSync(process.execPath, ['test/fixtures/gateway-own-cluster.ts'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stdout).toContain("A Gateway in a cluster keeps one registry in the cluster's primary, which only taskmesh's launcher sets up: launch it with `Gateway.launch({ numWorkers })`");
    expect(run.status).toBe(0);
  });
});
