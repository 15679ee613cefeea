import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/free-port.ts';
import { BadReplyError } from './http1-reply.ts';
import { ConnectionClosedError, Http1Pool, ReplyTimeoutError, type ExchangeControl, type UpstreamRequest } from './http1-pool.ts';

/** A TCP peer that answers each request head it reads with `answer`; it counts connections and keeps what came. */
interface Peer {
  url: URL;
  connections: number;
  open: number;
  requests: string[];
  server: Server;
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function peer(answer: (request: string, socket: Socket, index: number) => void): Promise<Peer> {
  const made: Peer = { url: new URL('http://127.0.0.1'), connections: 0, open: 0, requests: [], server: createServer() };
  const sockets = new Set<Socket>();
  made.server.on('connection', (socket) => {
    made.connections += 1;
    made.open += 1;
    sockets.add(socket);
    socket.on('close', () => {
      made.open -= 1;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      // Heads with a body of their declared length; a test's requests are small.
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.slice(0, end + 4 + length);
        pending = pending.slice(request.length);
        made.requests.push(request);
        answer(request, socket, made.requests.length - 1);
      }
    });
  });
  made.server.listen(0, '127.0.0.1');
  await once(made.server, 'listening');
  made.url = new URL(`http://127.0.0.1:${(made.server.address() as { port: number }).port}`);
  cleanup.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => made.server.close(resolve));
  });
  return made;
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

function pool(origin: URL, connections = 4): Http1Pool {
  const made = new Http1Pool(origin, connections);
  cleanup.push(() => made.close());
  return made;
}

interface Outcome {
  status?: number;
  headers?: IncomingHttpHeaders;
  body: string;
  error?: Error;
  control?: ExchangeControl;
}

/** Send one request; resolves when its reply has ended or failed. `onData` may act on the exchange. */
function send(to: Http1Pool, request: Partial<UpstreamRequest> = {}, onData?: (control: ExchangeControl, outcome: Outcome) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { body: '' };
    to.dispatch(
      { method: 'GET', path: '/', headers: {}, body: null, headersTimeout: 2_000, bodyTimeout: 2_000, ...request },
      {
        onRequestStart: (control) => (outcome.control = control),
        onResponseStart: (_c, status, headers) => Object.assign(outcome, { status, headers }),
        onResponseData: (control, chunk) => {
          outcome.body += chunk.toString();
          onData?.(control, outcome);
        },
        onResponseEnd: () => resolve(outcome),
        onResponseError: (_c, error) => resolve({ ...outcome, error }),
      },
    );
  });
}

describe('the gateway client for http: apps', () => {
  it('sends the head and body in one request, with Host, its own Content-Length and headers as given, and reads the reply', async () => {
    const app = await peer((_r, socket) => socket.write(ok('hi', 'X-App: 1\r\n')));
    const client = pool(app.url);
    const outcome = await send(client, { method: 'POST', path: '/echo?x=1', headers: { 'content-length': '999', 'x-two': ['a', 'b'], 'content-type': 'text/plain' }, body: Buffer.from('body!') });
    expect(outcome).toMatchObject({ status: 200, body: 'hi', headers: { 'x-app': '1' } });
    expect(app.requests[0]).toBe(
      `POST /echo?x=1 HTTP/1.1\r\nhost: ${app.url.host}\r\nconnection: keep-alive\r\nx-two: a\r\nx-two: b\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nbody!`,
    );
    // A POST without a body says so.
    await send(client, { method: 'POST' });
    expect(app.requests[1]).toContain('\r\ncontent-length: 0\r\n');
  });

  it('keeps one connection for requests one after another, and opens at most its limit for requests at once, the rest waiting in order', async () => {
    const app = await peer((request, socket) => setTimeout(() => socket.write(ok(request.split(' ')[1]!)), 30));
    const client = pool(app.url, 2);
    for (const path of ['/a', '/b', '/c']) expect((await send(client, { path })).body).toBe(path);
    expect(app.connections).toBe(1);
    const bodies = await Promise.all(['/1', '/2', '/3', '/4', '/5'].map((path) => send(client, { path })));
    expect(bodies.map((b) => b.body)).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(app.connections).toBe(2);
    expect(client.stats).toEqual({ connected: 2, free: 2, running: 0 });
  });

  it('does not reuse a connection the app closes, says Connection: close on, or spoils with bytes after the reply', async () => {
    const answers = [ok('closes', 'Connection: close\r\n'), `${ok('extra')}junk`, 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n1.0', 'HTTP/1.1 200 OK\r\n\r\nto the close'];
    const app = await peer((_r, socket, index) => {
      socket.write(answers[index] ?? ok('kept'));
      if (index === 3) socket.end();
    });
    const client = pool(app.url);
    for (const body of ['closes', 'extra', '1.0', 'to the close', 'kept', 'kept']) expect((await send(client)).body).toBe(body);
    expect(app.connections).toBe(5);
  });

  it('lets an idle connection go before the app would, by its Keep-Alive timeout, and one the app closed is not used', async () => {
    const app = await peer((_r, socket, index) => {
      socket.write(ok('x', index === 0 ? 'Keep-Alive: timeout=1\r\n' : ''));
      // The app drops the second connection at once once idle, as a server whose keep-alive ran out.
      if (index === 1) setTimeout(() => socket.destroy(), 20);
    });
    const client = pool(app.url);
    await send(client);
    // timeout=1 leaves no time once the margin is taken: not kept.
    await sleep(20);
    expect(app.open).toBe(0);
    await send(client);
    await sleep(100);
    expect(client.stats.connected).toBe(0);
    expect((await send(client)).body).toBe('x');
    expect(app.connections).toBe(3);
  });

  it('fails with the connection error when nothing listens', async () => {
    const client = pool(new URL(`http://127.0.0.1:${await freePort()}`));
    const { error } = await send(client);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(client.stats.connected).toBe(0);
  });

  it('fails when the reply head does not come in time, or the body stops, and closes that connection', async () => {
    const app = await peer((request, socket) => {
      if (request.startsWith('GET /part')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    const client = pool(app.url);
    const silent = await send(client, { headersTimeout: 100 });
    expect(silent.error).toBeInstanceOf(ReplyTimeoutError);
    expect(silent.error!.message).toContain('did not send its reply within 100 ms');
    const part = await send(client, { path: '/part', bodyTimeout: 100 });
    expect(part).toMatchObject({ status: 200, body: 'abc' });
    expect(part.error!.message).toContain('did not send more of its reply body within 100 ms');
    await sleep(20);
    expect(app.open).toBe(0);
  });

  it('fails when the app closes the connection mid-reply, or sends what is not HTTP/1.1', async () => {
    const app = await peer((request, socket) => {
      if (request.startsWith('GET /cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
    });
    const client = pool(app.url);
    const cut = await send(client, { path: '/cut' });
    expect(cut).toMatchObject({ status: 200, body: 'abc' });
    expect(cut.error).toBeInstanceOf(ConnectionClosedError);
    const bad = await send(client);
    expect(bad.error).toBeInstanceOf(BadReplyError);
    await sleep(20);
    expect(app.open).toBe(0);
  });

  it('closes the connection of an exchange given up mid-body, and holds the app back while paused', async () => {
    const big = 'x'.repeat(1 << 20);
    const app = await peer((request, socket) => socket.write(request.startsWith('GET /big') ? ok(big) : 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const client = pool(app.url);
    const aborted = await send(client, {}, (control) => control.abort(new Error('the caller left')));
    expect(aborted.error!.message).toBe('the caller left');
    await sleep(20);
    expect(app.open).toBe(0);

    let paused = false;
    const slow = await send(client, { path: '/big' }, (control, outcome) => {
      if (paused || outcome.body.length >= big.length) return;
      paused = true;
      control.pause();
      setTimeout(() => control.resume(), 50);
    });
    expect(paused).toBe(true);
    expect(slow.body).toBe(big);
  });

  it('close() lets requests given finish, then closes every connection; later requests are refused', async () => {
    const app = await peer((_r, socket) => setTimeout(() => socket.write(ok('done')), 50));
    const client = pool(app.url, 1);
    const given = [send(client), send(client)];
    await sleep(10);
    const closed = client.close();
    expect((await Promise.all(given)).map((o) => o.body)).toEqual(['done', 'done']);
    await closed;
    await sleep(20);
    expect(app.open).toBe(0);
    expect((await send(client)).error).toBeInstanceOf(ConnectionClosedError);
  });
});
