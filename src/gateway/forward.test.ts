import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { answersDirectly } from '../service/direct-calls.ts';
import { WHOLE_BODY_LIMIT } from './forward.ts';
import { Gateway, type GatewayOptions } from './gateway.ts';
import { postJson, startCustomisedGateway, startGateway, startUpstream, type Received } from './test-support.ts';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let gateway: Gateway;
let echo: EchoService;
/** An app whose replies say their length two ways (what a request smuggler relies on). */
let brokenApp: Server;

beforeAll(async () => {
  upstream = await startUpstream();
  brokenApp = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
  }).listen(0, '127.0.0.1');
  await once(brokenApp, 'listening');
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
});

afterAll(async () => {
  brokenApp?.close();
  await echo?.stop();
  await upstream?.close();
});

async function inspect(path: string, init: Parameters<typeof request>[1] = {}): Promise<{ status: number; headers: Record<string, unknown>; received: Received }> {
  const response = await request(`${gateway.url}/up${path}`, init);
  return { status: response.statusCode, headers: response.headers, received: (await response.body.json()) as Received };
}

// Every case twice: forwarded beside Fastify (the direct path of an app nobody customised) and
// through Fastify's route; both must behave alike.
describe.each([
  ['beside Fastify', startGateway, true],
  ['through Fastify', startCustomisedGateway, false],
] as const)('forwarding /{app}/{rest}, %s', (_path, make, direct) => {
  beforeAll(async () => {
    gateway = await make({ upstreamTimeout: 300 });
    for (const [name, url] of [
      ['up', upstream.url],
      ['based', `${upstream.url}/base`],
      ['echoer', echo.url],
      ['gone', `http://127.0.0.1:${await freePort()}`],
      ['broken', `http://127.0.0.1:${(brokenApp.address() as AddressInfo).port}`],
    ] as const) {
      expect((await postJson(`${gateway.url}/register_app`, { name, url })).status).toBe(200);
    }
  });
  afterAll(() => gateway?.stop());

  it(direct ? 'is answered beside Fastify' : 'is answered by Fastify', () => {
    expect(answersDirectly(gateway.app!.server)).toBe(direct);
  });

  it('passes the query string through untouched', async () => {
    const { received } = await inspect('/inspect?a=1&b=x%20y&a=2&empty=');
    expect(received.method).toBe('GET');
    expect(received.url).toBe('/inspect?a=1&b=x%20y&a=2&empty=');
  });

  it('prefixes the path of an app registered with a base path', async () => {
    const response = await request(`${gateway.url}/based/inspect?q=1`);
    expect(((await response.body.json()) as Received).url).toBe('/base/inspect?q=1');
  });

  it('passes request headers less hop-by-hop ones and Host, and adds X-Forwarded-For', async () => {
    // node:http sends a Connection header as given (undici's client would rewrite it).
    const received = await new Promise<Received>((resolve, reject) => {
      const req = httpRequest(`${gateway.url}/up/inspect`, {
        headers: { 'x-custom': 'kept', authorization: 'Bearer for-the-app', connection: 'keep-alive, x-drop-me', 'x-drop-me': 'hop', te: 'trailers', 'proxy-authorization': 'no' },
      });
      req.on('response', async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        resolve(JSON.parse(text) as Received);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received.headers['x-custom']).toBe('kept');
    expect(received.headers.authorization).toBe('Bearer for-the-app');
    expect(received.headers['x-drop-me']).toBeUndefined();
    expect(received.headers.te).toBeUndefined();
    expect(received.headers['proxy-authorization']).toBeUndefined();
    expect(received.headers.host).toBe(new URL(upstream.url).host);
    expect(received.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
    expect(received.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  const claims = {
    forwarded: 'for=203.0.113.9;proto=https',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-host': 'bank.example',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '443',
    'x-forwarded-prefix': '/admin',
    'x-real-ip': '203.0.113.9',
  };

  it('replaces what a caller it does not trust says of the client with what it knows', async () => {
    const { received } = await inspect('/inspect', { headers: claims });
    expect(received.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': new URL(gateway.url).host, 'x-forwarded-proto': 'http' });
    for (const name of ['forwarded', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip']) expect(received.headers[name], name).toBeUndefined();
  });

  it('passes on what a trusted proxy says of the client, appending to X-Forwarded-For', async () => {
    const behindProxy = await make({ trustedProxies: ['10.0.0.0/8', '127.0.0.0/8'] });
    try {
      await postJson(`${behindProxy.url}/register_app`, { name: 'up', url: upstream.url });
      const received = (await (await request(`${behindProxy.url}/up/inspect`, { headers: claims })).body.json()) as Received;
      expect(received.headers).toMatchObject({ ...claims, 'x-forwarded-for': '203.0.113.9, 127.0.0.1' });
    } finally {
      await behindProxy.stop();
    }
  });

  it('passes the caller X-Request-ID on, or makes one, and returns it', async () => {
    const given = await inspect('/inspect', { headers: { 'x-request-id': 'trace-42' } });
    expect(given.received.headers['x-request-id']).toBe('trace-42');
    expect(given.headers['x-request-id']).toBe('trace-42');
    const made = await inspect('/inspect');
    expect(made.received.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.headers['x-request-id']).toBe(made.received.headers['x-request-id']);
  });

  it('passes the reply status, headers (repeated ones too) and a non-JSON body back', async () => {
    const response = await request(`${gateway.url}/up/text`, { method: 'POST', body: 'x' });
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['x-upstream']).toBe('text');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(response.headers['x-hop']).toBeUndefined();
    expect(await response.body.text()).toBe('plain text, not JSON');
  });

  it('passes any request content type through, even one Fastify would refuse', async () => {
    for (const type of ['text/csv', 'application/x-www-form-urlencoded', 'not a media type', 'application/json']) {
      const { status, received } = await inspect('/inspect', { method: 'POST', headers: { 'content-type': type }, body: '{not json' });
      expect(status).toBe(200);
      expect(received.headers['content-type']).toBe(type);
      expect(received.bodyLength).toBe(9);
    }
  });

  it('forwards every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      const { received } = await inspect('/inspect', { method, ...(method === 'GET' ? {} : { body: 'b' }) });
      expect(received.method).toBe(method);
    }
    const head = await request(`${gateway.url}/up/inspect`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['x-upstream']).toBe('inspect');
    await head.body.dump();
  });

  it('passes a reply without content through', async () => {
    const response = await request(`${gateway.url}/up/no-content`, { method: 'DELETE' });
    expect(response.statusCode).toBe(204);
    expect(response.headers['x-upstream']).toBe('empty');
    expect(await response.body.text()).toBe('');
  });

  it('streams a 5 MiB request body (over the service body limit) and a 5 MiB reply', async () => {
    const size = 5 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024);
    const expected = createHash('sha256');
    // No content-length: the body goes as a chunked stream, built as it is read.
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < size / chunk.length; i++) {
          chunk.fill(i);
          expected.update(chunk);
          yield Buffer.from(chunk);
        }
      })(),
    );
    const { status, received } = await inspect('/inspect', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    expect(status).toBe(200);
    expect(received.headers['transfer-encoding']).toBe('chunked');
    expect(received.bodyLength).toBe(size);
    expect(received.sha256).toBe(expected.digest('hex'));

    const reply = await request(`${gateway.url}/up/bytes?size=${size}`);
    let length = 0;
    for await (const part of reply.body) length += (part as Buffer).length;
    expect(length).toBe(size);
  });

  it('sends a body of known length whole up to WHOLE_BODY_LIMIT and streams a longer one, both with their Content-Length', async () => {
    for (const size of [WHOLE_BODY_LIMIT, WHOLE_BODY_LIMIT + 1]) {
      const body = Buffer.alloc(size, size % 251);
      const { status, received } = await inspect('/inspect', { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
      expect(status).toBe(200);
      expect(received.headers['content-length']).toBe(String(size));
      expect(received.headers['transfer-encoding']).toBeUndefined();
      expect(received.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });

  it('never calls the app for a small body whose caller leaves midway; a longer one reaches the app before its end', async () => {
    async function leaveMidBody(length: number): Promise<Socket> {
      const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`POST /up/hang HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(10)}`);
      return socket;
    }
    upstream.events.length = 0;
    const streamed = await leaveMidBody(WHOLE_BODY_LIMIT + 1);
    while (!upstream.events.includes('hang:open')) await sleep(10);
    streamed.destroy();
    while (!upstream.events.includes('hang:closed')) await sleep(10);

    upstream.events.length = 0;
    const whole = await leaveMidBody(WHOLE_BODY_LIMIT);
    // Time enough for a streamed request to reach the app, as the longer one just did.
    await sleep(100);
    whole.destroy();
    expect((await inspect('/inspect')).status).toBe(200);
    expect(upstream.events).toEqual([]);
  });

  it('refuses with 400 a path that could leave the app\'s prefix once resolved, and forwards dots within names', async () => {
    // node:http sends the path as given; fetch and undici would resolve it first.
    const raw = (target: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        httpRequest(`${gateway.url}/`, { path: target, agent: false }, async (res) => {
          let body = '';
          for await (const chunk of res) body += String(chunk);
          resolve({ status: res.statusCode!, body });
        })
          .on('error', reject)
          .end();
      });
    upstream.events.length = 0;
    for (const target of ['/based/../record', '/based/%2e%2E/record', '/based/..%2frecord', '/based/..\\record', '/based/.%2e/up/record', '/based//evil.example/record', '/based/x/..', `http://evil.example/based/record`]) {
      const { status, body } = await raw(target);
      expect(status, target).toBe(400);
      expect(JSON.parse(body), target).toMatchObject({ code: ErrorCodes.UNSAFE_PATH, message: expect.stringContaining('could reach outside the app') });
    }
    expect(upstream.events).toEqual([]);
    const fine = await raw('/based/inspect?dots=/../x');
    expect(fine.status).toBe(200);
    expect(JSON.parse(fine.body).url).toBe('/base/inspect?dots=/../x');
    expect((await raw('/based/a.b/..c/.well-known')).status).toBe(404);
  });

  it('marks a request forwarded even when its caller reset the connection before it was read', async () => {
    upstream.events.length = 0;
    for (let i = 0; i < 20; i++) {
      const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /up/record HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n');
      socket.resetAndDestroy();
    }
    // Later requests on the same pool come after any of those the gateway forwarded.
    expect((await inspect('/inspect')).status).toBe(200);
    const recorded = upstream.events.filter((event) => event.startsWith('record:'));
    expect(recorded.filter((event) => event !== 'record:unknown' && event !== 'record:127.0.0.1')).toEqual([]);
  });

  it('ends the request to the app when the caller goes away', async () => {
    // A gateway that would wait for the app for a minute: only the caller leaving ends the request.
    const patient = await make({ upstreamTimeout: 60_000 });
    upstream.events.length = 0;
    try {
      await postJson(`${patient.url}/register_app`, { name: 'up', url: upstream.url });
      const controller = new AbortController();
      // Its own connection pool: an aborted request leaves the shared pool's other sockets busy for a while.
      const caller = new Agent();
      const pending = request(`${patient.url}/up/hang`, { signal: controller.signal, dispatcher: caller }).catch((error: unknown) => error);
      while (!upstream.events.includes('hang:open')) await sleep(10);
      controller.abort();
      await pending;
      while (!upstream.events.includes('hang:closed')) await sleep(10);
      await caller.close();
    } finally {
      await patient.stop();
    }
  });

  it('forwards taskmesh JSON calls, and the app own errors, unchanged', async () => {
    const ok = await postJson(`${gateway.url}/echoer/echo`, { message: 'through' });
    expect(ok).toMatchObject({ status: 200, body: { echoed: 'through' } });
    const bad = await postJson(`${gateway.url}/echoer/echo`, { message: 1 });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe(ErrorCodes.INVALID_INPUT);
    expect(bad.body.issues[0].path).toEqual(['message']);
  });

  it('answers 404 naming an unknown app, with the registered ones', async () => {
    const { status, body } = await postJson(`${gateway.url}/nobody/echo`, {});
    expect(status).toBe(404);
    expect(body.code).toBe(ErrorCodes.APP_NOT_REGISTERED);
    expect(body.message).toContain('"nobody"');
    expect(body.message).toContain('echoer');
    expect(body.request_id).toBeTruthy();
  });

  it('answers 502 naming an app that nothing answers for', async () => {
    const { status, body } = await postJson(`${gateway.url}/gone/echo`, {});
    expect(status).toBe(502);
    expect(body.code).toBe(ErrorCodes.UPSTREAM_UNREACHABLE);
    expect(body.message).toContain('"gone"');
    expect(body.message).toContain('ECONNREFUSED');
  });

  it('answers 502 naming an app whose reply cannot be passed on, and passes none of it', async () => {
    const { status, body } = await postJson(`${gateway.url}/broken/echo`, {});
    expect(status).toBe(502);
    expect(body.code).toBe(ErrorCodes.UPSTREAM_BAD_REPLY);
    expect(body.message).toContain('"broken"');
    expect(body.message).toContain('both Transfer-Encoding and Content-Length');
  });

  it('answers 504 naming an app slower than the upstream timeout', async () => {
    const response = await request(`${gateway.url}/up/slow?ms=3000`);
    const body = (await response.body.json()) as { code: string; message: string };
    expect(response.statusCode).toBe(504);
    expect(body.code).toBe(ErrorCodes.UPSTREAM_TIMEOUT);
    expect(body.message).toContain('"up"');
    expect(body.message).toContain('300 ms');
  });

  it('keeps the gateway own routes and 404s apart from forwarding', async () => {
    expect((await request(`${gateway.url}/status`)).statusCode).toBe(200);
    const response = await request(`${gateway.url}/nothing-here`);
    expect(response.statusCode).toBe(404);
    expect(((await response.body.json()) as { code: string }).code).toBe(ErrorCodes.NOT_FOUND);
  });
});

describe('the request lines of forwarded calls', () => {
  it('are the same beside Fastify and through it, the 502 error line included', async () => {
    const lines = async (make: (options: GatewayOptions) => Promise<Gateway>) => {
      const logs = logCapture();
      const gw = await make({ upstreamTimeout: 300, logger: { level: 'info', stream: logs.stream } });
      try {
        await postJson(`${gw.url}/register_app`, { name: 'echoer', url: echo.url });
        await postJson(`${gw.url}/register_app`, { name: 'gone', url: `http://127.0.0.1:${await freePort()}` });
        await postJson(`${gw.url}/echoer/echo`, { message: 'logged' }, { 'x-request-id': 'trace-1' });
        await postJson(`${gw.url}/gone/echo`, {}, { 'x-request-id': 'trace-2' });
        await postJson(`${gw.url}/nobody/echo`, {}, { 'x-request-id': 'trace-3' });
      } finally {
        await gw.stop();
      }
      return logs.lines
        .filter((line) => String(line.requestId).startsWith('trace-'))
        .map(({ time: _time, pid: _pid, durationMs, err, ...line }): Record<string, unknown> => ({ ...line, durationMs: typeof durationMs, err: (err as { message?: string } | undefined)?.message?.replace(/:\d+/g, ':<port>') }));
    };
    const direct = await lines(startGateway);
    const throughFastify = await lines(startCustomisedGateway);
    expect(direct.map((line) => [line.requestId, line.msg === 'request' ? line.status : line.msg])).toEqual([
      ['trace-1', 200],
      ['trace-2', expect.stringContaining('request failed: ')],
      ['trace-2', 502],
      ['trace-3', 404],
    ]);
    const portless = (entries: Record<string, unknown>[]) => entries.map((line) => ({ ...line, msg: String(line.msg).replace(/:\d+/g, ':<port>') }));
    expect(portless(direct)).toEqual(portless(throughFastify));
  });
});
