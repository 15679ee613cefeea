import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { z } from 'zod';
import { Service, ServerStatus, task, ErrorCodes, type ServiceOptions } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { CounterService } from '../../examples/hooks/hooks.service.ts';

const started: Service[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

const quiet: ServiceOptions = { host: '127.0.0.1', port: 0, logger: false };

async function call(url: string, method = 'POST', headers: Record<string, string> = {}, body?: string) {
  const res = await request(url, { method: method as 'POST', headers, ...(body ? { body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('lifecycle', () => {
  it('is Launching while onStartup runs, Available after, and refuses endpoint calls until then', async () => {
    const gate = deferred();
    class Slow extends EchoService {
      override async onStartup() {
        await gate.promise;
      }
    }
    const s = new Slow(quiet);
    started.push(s);
    const starting = s.start();
    while (!s.app?.server.listening) await new Promise((r) => setTimeout(r, 5));
    const url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
    expect((await call(`${url}/status`, 'GET')).json).toEqual({ status: 'Launching' });
    const early = await call(`${url}/echo`, 'POST', { 'content-type': 'application/json' }, '{"message":"x"}');
    expect(early.status).toBe(503);
    expect(early.json.message).toMatch(/still starting/);
    gate.resolve();
    await starting;
    expect((await call(`${url}/status`, 'GET')).json).toEqual({ status: 'Available' });
  });

  it('a throwing onStartup fails start() with its error, FailedToLaunch, and the port freed', async () => {
    class Broken extends EchoService {
      override async onStartup() {
        throw new Error('cannot open the model file');
      }
    }
    const s = new Broken(quiet);
    await expect(s.start()).rejects.toThrow('cannot open the model file');
    expect(s.status).toBe(ServerStatus.FailedToLaunch);
    expect(s.app?.server.listening).toBe(false);
  });

  it('runs onStartup and onShutdown, awaited, around serving', async () => {
    const s = new CounterService(quiet);
    await s.start();
    await call(`${s.url}/count`, 'POST', { 'content-type': 'application/json' }, '{"by":2}');
    await s.stop();
    expect(s.events).toEqual(['startup', 'shutdown at total 2']);
    expect(s.status).toBe(ServerStatus.Down);
  });

  it('shutdown drains in-flight requests before it goes Down', async () => {
    const s = new EchoService(quiet);
    started.push(s);
    await s.start();
    const inFlight = call(`${s.url}/echo`, 'POST', { 'content-type': 'application/json' }, '{"message":"slow","delay":0.3}');
    await new Promise((r) => setTimeout(r, 50));
    const down = s.whenDown();
    expect((await call(`${s.url}/shutdown`)).json).toEqual({ status: 'Stopping' });
    expect(await inFlight).toEqual({ status: 200, json: { echoed: 'slow' } });
    await down;
    expect(s.status).toBe(ServerStatus.Down);
    await expect(call(`${s.url}/status`, 'GET')).rejects.toThrow();
  });

  it('`await using` stops the service at the end of the scope', async () => {
    let url: string;
    let service: EchoService;
    {
      await using s = new EchoService(quiet);
      await s.start();
      url = s.url;
      service = s;
      expect((await call(`${url}/status`, 'GET')).json.status).toBe('Available');
    }
    expect(service.status).toBe(ServerStatus.Down);
    await expect(call(`${url}/status`, 'GET')).rejects.toThrow();
  });

  it('port 0 picks a free port and the service knows its real URL', async () => {
    const s = new EchoService(quiet);
    started.push(s);
    const url = await s.start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    expect(s.url).toBe(url);
  });

  it('a port in use is a clear error', async () => {
    const first = new EchoService(quiet);
    started.push(first);
    await first.start();
    const port = Number(new URL(first.url).port);
    const second = new EchoService({ ...quiet, port });
    const error = await second.start().catch((e) => e);
    expect(error.code).toBe(ErrorCodes.PORT_IN_USE);
    expect(error.message).toMatch(/already in use.*port 0 picks a free one/);
  });

  it('writes the pid file while serving and removes it when stopped', async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const pidFile = `/tmp/taskmesh-lifecycle-${process.pid}.pid`;
    const s = new EchoService({ ...quiet, pidFile });
    await s.start();
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(process.pid));
    await s.stop();
    expect(existsSync(pidFile)).toBe(false);
  });

  it('leaves a pid file that another process has taken over', async () => {
    const { existsSync, readFileSync, writeFileSync, rmSync } = await import('node:fs');
    const pidFile = `/tmp/taskmesh-lifecycle-shared-${process.pid}.pid`;
    const s = new EchoService({ ...quiet, pidFile });
    await s.start();
    // A second instance given the same file, in another process, wrote its pid after this one.
    writeFileSync(pidFile, `${process.pid + 1}\n`);
    await s.stop();
    expect(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()).toBe(String(process.pid + 1));
    rmSync(pidFile, { force: true });
  });
});

describe('security defaults', () => {
  it('shutdown from loopback to a loopback-only service needs no token', async () => {
    const s = new EchoService(quiet);
    started.push(s);
    await s.start();
    expect((await call(`${s.url}/shutdown`)).status).toBe(200);
    await s.whenDown();
  });

  it('shutdown of a service bound beyond loopback needs the token: 401 without, 200 with', async () => {
    const s = new EchoService({ ...quiet, host: '0.0.0.0', adminToken: 'sesame' });
    started.push(s);
    await s.start();
    const url = `http://127.0.0.1:${new URL(s.url).port}`;
    const refused = await call(`${url}/shutdown`);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ code: 'TASKMESH_UNAUTHORIZED', message: expect.stringMatching(/Authorization: Bearer/) });
    expect((await call(`${url}/shutdown`, 'POST', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(s.status).toBe(ServerStatus.Available);
    expect((await call(`${url}/shutdown`, 'POST', { authorization: 'Bearer sesame' })).status).toBe(200);
    await s.whenDown();
  });

  it('a service beyond loopback with no token refuses admin calls and says how to set one', async () => {
    const s = new EchoService({ ...quiet, host: '0.0.0.0', adminToken: '' });
    started.push(s);
    await s.start();
    const refused = await call(`http://127.0.0.1:${new URL(s.url).port}/shutdown`);
    expect(refused.status).toBe(401);
    expect(refused.json.message).toMatch(/no admin token.*TASKMESH_ADMIN_TOKEN/);
  });

  it('a proxied request never counts as loopback', async () => {
    const s = new EchoService(quiet);
    started.push(s);
    await s.start();
    expect((await call(`${s.url}/shutdown`, 'POST', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
    expect(s.status).toBe(ServerStatus.Available);
  });

  it('a browser page is no loopback caller: another site\'s Origin, or a Host that is not loopback (DNS rebinding), needs the token', async () => {
    const s = new EchoService(quiet);
    started.push(s);
    await s.start();
    const { port } = new URL(s.url);
    for (const headers of [{ origin: 'https://any-site.example' } as Record<string, string>, { origin: 'null' }, { host: `rebind.attacker.example:${port}` }, { host: `rebind.attacker.example:${port}`, origin: `http://rebind.attacker.example:${port}` }]) {
      const refused = await call(`${s.url}/shutdown`, 'POST', headers);
      expect(refused.status, JSON.stringify(headers)).toBe(401);
    }
    expect(s.status).toBe(ServerStatus.Available);
    // A page of the service itself (its docs) is.
    expect((await call(`${s.url}/shutdown`, 'POST', { origin: s.url })).status).toBe(200);
  });

  it('admin scope protects user endpoints too', async () => {
    const purge = task({ name: 'purge', output: z.object({ purged: z.boolean() }) });
    class Admin extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('purge', () => ({ purged: true }), { schema: purge, scope: 'admin' });
      }
    }
    const s = new Admin({ ...quiet, host: '0.0.0.0', adminToken: 'k' });
    started.push(s);
    await s.start();
    const url = `http://127.0.0.1:${new URL(s.url).port}/purge`;
    expect((await call(url)).status).toBe(401);
    expect((await call(url, 'POST', { authorization: 'Bearer k' })).json).toEqual({ purged: true });
  });

  it('CORS is off unless configured', async () => {
    const plain = new EchoService(quiet);
    const open = new EchoService({ ...quiet, cors: { origin: 'https://app.example' } });
    started.push(plain, open);
    await plain.start();
    await open.start();
    const headers = { origin: 'https://app.example', 'access-control-request-method': 'POST' };
    const off = await request(`${plain.url}/echo`, { method: 'OPTIONS', headers });
    await off.body.dump();
    expect(off.headers['access-control-allow-origin']).toBeUndefined();
    const on = await request(`${open.url}/echo`, { method: 'OPTIONS', headers });
    await on.body.dump();
    expect(on.headers['access-control-allow-origin']).toBe('https://app.example');
  });
});

it('stopping a service that never started runs no onShutdown and is Down', async () => {
  const s = new CounterService(quiet);
  await s.stop();
  expect(s.status).toBe(ServerStatus.Down);
  expect(s.events).toEqual([]);
});

it('shutdown stops waiting for a request that never ends after shutdownTimeout, and cuts it', async () => {
  const hang = task({ name: 'hang' });
  class Stuck extends Service {
    constructor(o: ServiceOptions) {
      super(o);
      this.addEndpoint('hang', () => new Promise(() => {}), { schema: hang });
    }
  }
  const s = new Stuck({ ...quiet, shutdownTimeout: 200 });
  started.push(s);
  await s.start();
  const stuck = call(`${s.url}/hang`).then(
    () => 'answered',
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 50));
  await s.stop();
  expect(s.status).toBe(ServerStatus.Down);
  expect(await stuck).toBe('cut');
});
