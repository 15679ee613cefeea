import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionManager, InvalidOutputError, ServerStatus, ServiceCallError, statusAtHost } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { HoldingService } from '../../test/fixtures/launch/holding.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { droppingServer, plainServer, resettingServer, type SeenRequest } from '../../test/helpers/http-servers.ts';
import { isAlive, killGroup, waitFor } from '../../test/helpers/processes.ts';
import { acquirePool, releasePool } from './http.ts';
import { probe, probeSettled, probeStatus } from './liveness.ts';

const cleanup: (() => Promise<unknown>)[] = [];
const groups: number[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
  for (const pgid of groups.splice(0)) killGroup(pgid);
});
const dir = mkdtempSync(join(tmpdir(), 'taskmesh-liveness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A server that stands for one that is stopping: a request on a kept-alive connection that already
 * carried one is reset (as a stopping server closes the sockets of its pool), while a request on a
 * new connection is answered `Stopping`. `onStatus` runs for each answered status request.
 */
async function stoppingServer(onStatus: (server: Server) => void = () => {}): Promise<{ url: string; server: Server; seen: SeenRequest[] }> {
  const made = await resettingServer((req, res, server) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ServerStatus.Stopping }));
    if (req.url === '/status') onStatus(server);
  });
  cleanup.push(() => made.close());
  return made;
}

/**
 * Wait until the origin's shared pool (the one every client of `url` uses) has its one connection
 * free again, so that the next pooled request surely goes out on that kept-alive socket: undici
 * frees it a moment after the reply has been read, and a request sent before would open another.
 */
async function pooledSocketFree(url: string): Promise<void> {
  const { origin } = new URL(url);
  const pool = acquirePool(origin);
  cleanup.push(() => releasePool(origin));
  await waitFor(() => pool.stats.connected === 1 && pool.stats.free === 1, 5_000, 'the pooled connection to be free');
}

describe('status() and statusAtHost()', () => {
  it('a reset of a reused pooled socket is not Down: status() asks again on a connection of its own', async () => {
    const { url, seen } = await stoppingServer();
    const cm = new ConnectionManager({ url });
    cleanup.push(() => cm.close());
    expect(await cm.status()).toBe(ServerStatus.Stopping);
    await pooledSocketFree(url);
    expect(await cm.status()).toBe(ServerStatus.Stopping);
    expect(seen).toEqual([
      { path: '/status', reused: false, connection: 'keep-alive' },
      { path: '/status', reused: true, connection: 'keep-alive' },
      { path: '/status', reused: false, connection: 'close' },
    ]);
  });

  it('statusAtHost() never borrows a pooled socket of another client of the same origin', async () => {
    const { url, seen } = await stoppingServer();
    const cm = new ConnectionManager({ url });
    cleanup.push(() => cm.close());
    await cm.status(); // leaves a kept-alive socket in the origin's pool
    await pooledSocketFree(url);
    expect(await statusAtHost(url)).toBe(ServerStatus.Stopping);
    expect(seen.map((s) => s.reused)).toEqual([false, false]);
  });

  it('is Down when a fresh connection is refused', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    expect(await statusAtHost(url)).toBe(ServerStatus.Down);
    expect((await probeStatus(url, { timeout: 5_000 })).kind).toBe('refused');
  });

  it('is Down when every fresh connection is accepted and closed without a reply, after asking three times', async () => {
    const { url, accepted, close } = await droppingServer();
    cleanup.push(close);
    expect((await probeStatus(url, { timeout: 5_000 })).kind).toBe('dropped');
    expect(await statusAtHost(url)).toBe(ServerStatus.Down);
    expect(accepted()).toBe(4);
  });

  it('something that answers, but not with a taskmesh status, is an error that says so, not Down', async () => {
    await using notTaskmesh = await plainServer(true);
    const error = await statusAtHost(notTaskmesh.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect(error).toMatchObject({ status: 404 });

    const odd = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"fine"}'));
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => odd.close(resolve)));
    const oddUrl = `http://127.0.0.1:${(odd.address() as { port: number }).port}`;
    const shapeError = await statusAtHost(oddUrl).catch((e: unknown) => e);
    expect(shapeError).toBeInstanceOf(InvalidOutputError);
    expect((shapeError as Error).message).toBe(`The reply of status at ${oddUrl} is not a taskmesh status (is a taskmesh service running there?).`);
  });

  it('a status that does not come within the timeout is a timeout, not Down', async () => {
    await using silent = await plainServer(false);
    await expect(statusAtHost(silent.url, { timeout: 200 })).rejects.toMatchObject({ code: 'TASKMESH_TIMEOUT' });
  });
});

describe('probe() of the other built-ins that tell what a service is', () => {
  it('answers heartbeat and detailed_endpoints on a connection of its own', async () => {
    const echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    const url = await echo.start();
    cleanup.push(() => echo.stop());
    expect(await probe(url, 'heartbeat', { timeout: 5_000 })).toEqual({
      kind: 'answered',
      reply: { heartbeat: { status: 'Available', server_id: echo.serverId, message: 'EchoService is available.', details: null } },
    });
    const detailed = await probe(url, 'detailed_endpoints', { timeout: 5_000 });
    expect(detailed.kind === 'answered' && Object.keys(detailed.reply.endpoints)).toContain('echo');
  });

  it('a reply of another shape is an error that names the built-in; a refused connection is refused, asked once', async () => {
    const { url } = await stoppingServer();
    const error = await probe(url, 'heartbeat', { timeout: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOutputError);
    expect((error as Error).message).toBe(`The reply of heartbeat at ${url} is not a taskmesh heartbeat (is a taskmesh service running there?).`);
    const gone = `http://127.0.0.1:${await freePort()}`;
    expect(await probeSettled(gone, 'heartbeat', { timeout: 5_000 })).toMatchObject({ kind: 'refused', error: { code: 'TASKMESH_UNREACHABLE' } });
  });
});

describe('shutdown({ block: true })', () => {
  it('waits until a fresh connection is refused, whatever reused sockets say', async () => {
    let answered = 0;
    const { url, server, seen } = await stoppingServer((s) => {
      answered += 1;
      // After three answers the listener closes: from then on a fresh connection is refused.
      if (answered === 3) s.close();
    });
    const cm = new ConnectionManager({ url });
    cleanup.push(() => cm.close());
    await cm.shutdown({ block: true });
    expect(server.listening).toBe(false);
    expect(answered).toBe(3);
    expect(seen.filter((s) => s.reused)).toEqual([]);
  });

  it('with a process that stays up, gives up after its timeout with an error that says so', async () => {
    const { url } = await stoppingServer();
    const cm = new ConnectionManager({ url });
    cleanup.push(() => cm.close());
    const error = await cm.shutdown({ block: true, timeout: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TASKMESH_TIMEOUT', message: `${url} was asked to shut down but is still up after 300 ms.` });
  });
});

describe('shutdown({ block: true }) of a service in a process of its own', () => {
  const local = { host: '127.0.0.1', port: 0, progress: false, logDir: dir } as const;

  it('from the client launch() returned: waits until the process has exited, after draining a call in flight', async () => {
    const cm = await HoldingService.launch(local);
    groups.push(cm.pid!);
    const inFlight = cm.hold({ ms: 1_000 });
    await waitFor(async () => (await cm.holding()).count === 1, 5_000, 'the call to be in progress');
    await cm.shutdown({ block: true });
    expect(isAlive(cm.pid!)).toBe(false);
    expect(await inFlight).toEqual({ held: 1_000 });
  });

  it('from a client of its URL alone: waits until its URL refuses connections', async () => {
    const owner = await EchoService.launch(local);
    groups.push(owner.pid!);
    const cm = await EchoService.connect(owner.url);
    cleanup.push(() => cm.close());
    expect(cm.pid).toBeUndefined();
    await cm.shutdown({ block: true });
    expect(await statusAtHost(cm.url)).toBe(ServerStatus.Down);
    expect((await probeStatus(cm.url, { timeout: 5_000 })).kind).toBe('refused');
    await waitFor(() => !isAlive(owner.pid!), 10_000, 'the process to exit');
  });
});
