// Endpoint calls answered beside Fastify: which calls take that path, and that they get the answer
// the Fastify path gives (the same service class, once customised so that every call goes through
// Fastify, answers the same requests alongside).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Service, ServerStatus, contract, task, type EndpointHandler, type ServiceOptions } from '../index.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { serveForEachTest } from '../../test/helpers/services.ts';
import { answersDirectly, directCalls } from './direct-calls.ts';
import { makeEndpoint } from './endpoint.ts';

const greet = task({ name: 'greet', input: z.object({ name: z.string().min(1), times: z.number().int().default(1) }), output: z.object({ greeting: z.string() }) });
const ping = task({ name: 'ping' });
const boom = task({ name: 'boom', input: z.object({ later: z.boolean() }), output: z.object({ ok: z.boolean() }) });
const liar = task({ name: 'liar', output: z.object({ count: z.number() }) });
const lookup = task({ name: 'lookup', input: z.object({ key: z.coerce.number() }), output: z.object({ key: z.number() }) });
const secret = task({ name: 'secret', scope: 'admin', output: z.object({ ok: z.boolean() }) });
const raw = task({ name: 'raw', input: z.object({ later: z.boolean() }) });
const lazy = task({ name: 'lazy', output: z.object({ ok: z.boolean() }) });
const shout = task({ name: 'shout', input: z.object({ text: z.string() }), output: z.string() });
const Greeter = contract('Greeter', { greet, ping, boom, liar, lookup, secret, raw, lazy, shout });

class GreeterService extends Service.for(Greeter) {
  constructor(options: ServiceOptions) {
    super(options);
    this.addEndpoint('greet', this.greet, { schema: greet });
    this.addEndpoint('ping', () => undefined, { schema: ping });
    this.addEndpoint('boom', async ({ later }) => {
      if (later) await Promise.resolve();
      throw new Error('the greeter broke');
    }, { schema: boom });
    this.addEndpoint('liar', () => ({ count: 'many' }) as unknown as { count: number }, { schema: liar });
    this.addEndpoint('lookup', ({ key }) => ({ key }), { schema: lookup, methods: ['GET', 'POST'] });
    this.addEndpoint('secret', () => ({ ok: true }), { schema: secret });
    // No output schema, and a reply JSON cannot hold.
    this.addEndpoint('raw', async ({ later }) => {
      if (later) await Promise.resolve();
      return { n: 1n };
    }, { schema: raw });
    // A thenable that is not a promise, and calls back twice: a promise settles once.
    const twice = { then: (resolve: (value: { ok: boolean }) => void) => (resolve({ ok: true }), resolve({ ok: false })) };
    this.addEndpoint('lazy', () => twice as unknown as Promise<{ ok: boolean }>, { schema: lazy });
    this.addEndpoint('shout', ({ text }) => text.toUpperCase(), { schema: shout, methods: ['GET', 'POST'] });
  }

  greet: EndpointHandler<typeof greet> = async ({ name, times }) => ({ greeting: `hello ${name}`.repeat(times) });
}

/** The same service with its app customised (a no-op): every call goes through Fastify. */
class ThroughFastify extends GreeterService {
  protected override async configureApp(): Promise<void> {}
}

const serve = serveForEachTest();

interface Answer {
  status: number;
  contentType: string | undefined;
  /** How the body is framed: its length, or chunked. */
  framing: string | undefined;
  requestIdHeader: string | undefined;
  body: unknown;
}

async function ask(url: string, path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await request(`${url}${path}`, { method: (init.method ?? 'POST') as 'POST', headers: init.headers ?? { 'content-type': 'application/json' }, ...(init.body === undefined ? {} : { body: init.body }) });
  const text = await res.body.text();
  const body = text ? JSON.parse(text) : undefined;
  const requestIdHeader = res.headers['x-request-id'] as string | undefined;
  // Request ids differ from call to call: compare that the body names the header's, not the ids.
  if (body && typeof body === 'object' && 'request_id' in body) {
    expect(body.request_id).toBe(requestIdHeader);
    body.request_id = '<id>';
  }
  const framing = res.headers['transfer-encoding'] ? `chunked` : (res.headers['content-length'] as string | undefined);
  return { status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, framing, requestIdHeader: requestIdHeader && '<id>', body };
}

describe('the answer is the Fastify path\'s', () => {
  const cases: [string, string, { method?: string; body?: string; headers?: Record<string, string> }][] = [
    ['a call, defaults filled in', '/greet', { body: '{"name":"ann"}' }],
    ['a call with a charset and unknown fields', '/greet', { body: '{"name":"bo","times":2,"extra":true}', headers: { 'content-type': 'application/json; charset=utf-8' } }],
    ['input that breaks the schema', '/greet', { body: '{"name":"","times":1.5}' }],
    ['a body that is not JSON', '/greet', { body: '{"name":' }],
    ['a body that poisons the prototype', '/greet', { body: '{"name":"x","__proto__":{"admin":true}}' }],
    ['no body for a task with input', '/greet', { body: '' }],
    ['no body for a task without input', '/ping', { body: '' }],
    ['a handler that throws', '/boom', { body: '{"later":false}' }],
    ['a handler that rejects', '/boom', { body: '{"later":true}' }],
    ['a handler that breaks its output schema', '/liar', { body: '{}' }],
    ['a reply that cannot be serialised, at once', '/raw', { body: '{"later":false}' }],
    ['a reply that cannot be serialised, later', '/raw', { body: '{"later":true}' }],
    ['a handler that returns a thenable of its own', '/lazy', { body: '' }],
    ['a built-in', '/status', { body: '' }],
    ['a GET with a query', '/lookup?key=7', { method: 'GET', headers: {} }],
    ['a string reply, which is JSON too', '/shout', { body: '{"text":"hi"}' }],
    ['a string reply to a GET', '/shout?text=hi', { method: 'GET', headers: {} }],
    ['a text body', '/greet', { body: 'hello', headers: { 'content-type': 'text/plain' } }],
    ['an admin endpoint without the token', '/secret', { body: '{}' }],
    ['no such endpoint', '/nope', { body: '{}' }],
  ];

  it.each(cases)('%s', async (_what, path, init) => {
    const direct = await serve(new GreeterService({ host: '127.0.0.1', port: 0, logger: false, development: false }));
    const fastify = await serve(new ThroughFastify({ host: '127.0.0.1', port: 0, logger: false, development: false }));
    expect([answersDirectly(direct.app!.server), answersDirectly(fastify.app!.server)]).toEqual([true, false]);
    const [a, b] = [await ask(direct.url, path, init), await ask(fastify.url, path, init)];
    expect(a).toEqual(b);
    expect(a.requestIdHeader).toBe('<id>');
  });

  it('and so is the request line, with the caller\'s request id', async () => {
    const lines = async (service: Service, logs: ReturnType<typeof logCapture>) => {
      await serve(service);
      await ask(service.url, '/greet', { body: '{"name":"cy"}', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-1' } });
      await ask(service.url, '/boom', { body: '{"later":true}', headers: { 'content-type': 'application/json', 'x-request-id': 'trace-2' } });
      return logs.lines
        .filter((line) => String(line.requestId).startsWith('trace-'))
        .map(({ time: _time, pid: _pid, durationMs, err, ...line }): Record<string, unknown> => ({ ...line, durationMs: typeof durationMs, err: (err as { message?: string } | undefined)?.message }));
    };
    const directLogs = logCapture();
    const fastifyLogs = logCapture();
    const direct = await lines(new GreeterService({ host: '127.0.0.1', port: 0, logger: { level: 'info', stream: directLogs.stream } }), directLogs);
    const fastify = await lines(new ThroughFastify({ host: '127.0.0.1', port: 0, logger: { level: 'info', stream: fastifyLogs.stream } }), fastifyLogs);
    expect(direct).toEqual(fastify);
    expect(direct.map((line) => line.msg)).toEqual(['request', 'request failed: the greeter broke', 'request']);
  });
});

describe('bodies', () => {
  it('a character split between two packets arrives whole', async () => {
    const service = await serve(new GreeterService({ host: '127.0.0.1', port: 0, logger: false }));
    const body = Buffer.from('{"name":"Zoë 😀"}');
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk));
    socket.write(`POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    // Cut inside the emoji's four bytes, and let the first part be read on its own.
    const cut = body.indexOf(0xf0) + 2;
    socket.write(body.subarray(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.end(body.subarray(cut));
    await once(socket, 'close');
    expect(reply).toMatch(/^HTTP\/1.1 200/);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({ greeting: 'hello Zoë 😀' });
  });
});

describe('which calls take the direct path', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('a plain JSON POST to a public endpoint of a service that is Available; anything else is left, unread, to Fastify', async () => {
    let status: ServerStatus = ServerStatus.Available;
    const endpoints = [
      makeEndpoint('greet', ({ name }: { name: string }) => ({ greeting: `hello ${name}` }), { schema: greet }),
      makeEndpoint('secret', () => ({ ok: true }), { schema: secret }),
      makeEndpoint('lookup', ({ key }: { key: number }) => ({ key }), { schema: task({ name: 'lookup', input: lookup.input, output: lookup.output, methods: ['GET'] }) }),
    ];
    const direct = directCalls({ endpoints, status: () => status, bodyLimit: 64, development: false, parseJson: (_r, body, done) => done(null, JSON.parse(body)), lines: undefined });
    const left: string[] = [];
    server = createServer((req: IncomingMessage, res) => {
      if (direct(req, res)) return;
      // What Fastify would get: the request with its body still unread.
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
        left.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(299).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const post = async (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      const res = await request(`${url}${path}`, { method: 'POST', headers, body });
      await res.body.text();
      return res.statusCode;
    };

    expect(await post('/greet', '{"name":"ann"}')).toBe(200);
    expect(await post('/greet', '{"name":"ann"}', { 'content-type': 'Application/JSON; charset=utf-8' })).toBe(200);
    expect(left).toEqual([]);

    expect(await post('/greet?x=1', '{"name":"q"}')).toBe(299);
    expect(await post('/greet', 'hello', { 'content-type': 'text/plain' })).toBe(299);
    expect(await post('/greet', `{"name":"${'x'.repeat(80)}"}`)).toBe(299);
    expect(await post('/secret', '{}')).toBe(299);
    expect(await post('/lookup', '{"key":1}')).toBe(299);
    const chunked = await request(`${url}/greet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Readable.from(['{"name":"ch"}']) });
    await chunked.body.text();
    expect(chunked.statusCode).toBe(299);
    status = ServerStatus.Stopping;
    expect(await post('/greet', '{"name":"late"}')).toBe(299);

    expect(left).toEqual([
      'POST /greet?x=1 {"name":"q"}',
      'POST /greet hello',
      `POST /greet {"name":"${'x'.repeat(80)}"}`,
      'POST /secret {}',
      'POST /lookup {"key":1}',
      'POST /greet {"name":"ch"}',
      'POST /greet {"name":"late"}',
    ]);
  });

  it('a customised app sees every call: a hook added in configureApp guards endpoints too', async () => {
    class Guarded extends GreeterService {
      protected override async configureApp(app: NonNullable<Service['app']>): Promise<void> {
        app.addHook('onRequest', async (req, reply) => {
          if (req.headers.authorization !== 'Bearer let-me-in') await reply.code(401).send({ error: 'no' });
        });
      }
    }
    const service = await serve(new Guarded({ host: '127.0.0.1', port: 0, logger: false }));
    expect(answersDirectly(service.app!.server)).toBe(false);
    expect((await ask(service.url, '/greet', { body: '{"name":"x"}' })).status).toBe(401);
    expect((await ask(service.url, '/greet', { body: '{"name":"x"}', headers: { 'content-type': 'application/json', authorization: 'Bearer let-me-in' } })).status).toBe(200);
  });
});
