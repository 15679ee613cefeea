// What a service answers to requests that never reach a handler: one that does not arrive whole
// in time (a caller that trickles its body, or stops mid-body), a head too large, bytes that are
// not HTTP. Real sockets against real services, on both of a service's request paths.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, type ServiceOptions } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { serveForEachTest } from '../../test/helpers/services.ts';

const serve = serveForEachTest();

/** The same service with its app customised: every request goes through Fastify. */
class CustomisedEchoService extends EchoService {
  protected override async configureApp(app: FastifyInstance): Promise<void> {
    app.addHook('onRequest', async () => {});
  }
}

interface RawExchange {
  /** Everything the service sent before it closed the connection. */
  reply: string;
  /** ms from the first byte sent until the connection closed. */
  closedAfter: number;
}

/** Send `head`, then nothing more: what the service answers, and when it closes the connection. */
async function sendAndWait(url: string, head: string, within = 10_000): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let reply = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk));
  const started = Date.now();
  socket.write(head);
  const guard = setTimeout(() => socket.destroy(new Error(`still open after ${within} ms`)), within);
  try {
    await once(socket, 'close');
  } finally {
    clearTimeout(guard);
    socket.destroy();
  }
  if (socket.errored) throw socket.errored;
  return { reply, closedAfter: Date.now() - started };
}

function parseReply(raw: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, body] = raw.split('\r\n\r\n', 2) as [string, string];
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) as Record<string, unknown> };
}

const partialPost = 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mess';

describe.each([
  ['beside Fastify', EchoService],
  ['through Fastify', CustomisedEchoService],
])('a request that does not arrive whole in time (%s)', (_path, Kind: new (options: ServiceOptions) => EchoService) => {
  it('gets 408 with the wire protocol\'s error body once requestTimeout has passed, and its connection is closed', async () => {
    const service = await serve(new Kind({ host: '127.0.0.1', port: 0, logger: false, requestTimeout: 400 }));
    const { reply, closedAfter } = await sendAndWait(service.url, partialPost);
    expect(closedAfter).toBeGreaterThanOrEqual(350);
    const { status, headers, body } = parseReply(reply);
    expect(status).toBe(408);
    expect(headers.connection).toBe('close');
    expect(headers['x-request-id']).toBe(body.request_id);
    expect(body).toMatchObject({ error: 'Request Timeout', code: ErrorCodes.REQUEST_TIMEOUT });
    expect(body.message).toContain('within 400 ms');
    expect(body.message).toContain('raise requestTimeout');
    // The service is unharmed.
    expect(await (await fetch(`${service.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' })).json()).toEqual({ echoed: 'hi' });
  });

  it('bounds a head that never ends too', async () => {
    const service = await serve(new Kind({ host: '127.0.0.1', port: 0, logger: false, requestTimeout: 400 }));
    const { reply } = await sendAndWait(service.url, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Ty');
    expect(parseReply(reply)).toMatchObject({ status: 408, body: { code: ErrorCodes.REQUEST_TIMEOUT } });
  });
});

describe('requestTimeout', () => {
  it('covers receiving the request only: a handler may take longer', async () => {
    const service = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false, requestTimeout: 200 }));
    const reply = await fetch(`${service.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"slow","delay":0.6}' });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ echoed: 'slow' });
  });

  it('is 60 s unless given, and 0 turns it off', async () => {
    const byDefault = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    expect(byDefault.app!.server.requestTimeout).toBe(60_000);
    expect(byDefault.app!.server.headersTimeout).toBe(60_000);
    const unlimited = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false, requestTimeout: 0 }));
    expect(unlimited.app!.server.requestTimeout).toBe(0);
    const socket = connect(Number(new URL(unlimited.url).port), '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write(partialPost);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
    }
  });
});

describe('what is not an HTTP request', () => {
  it('gets 400 with the wire protocol\'s error body, and the connection is closed', async () => {
    const service = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    const { reply } = await sendAndWait(service.url, 'HELLO THERE\r\n\r\n');
    const { status, body } = parseReply(reply);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'Bad Request', code: ErrorCodes.MALFORMED_REQUEST });
    expect(body.message).toContain('not an HTTP/1.1 request');
  });

  it('a head larger than Node reads gets 431, saying what to send instead', async () => {
    const service = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    const { reply } = await sendAndWait(service.url, `GET /status HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const { status, body } = parseReply(reply);
    expect(status).toBe(431);
    expect(body).toMatchObject({ code: ErrorCodes.MALFORMED_REQUEST });
    expect(body.message).toContain('fewer or shorter headers');
  });
});
