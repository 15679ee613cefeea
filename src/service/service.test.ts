import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { z } from 'zod';
import { Service, contract, task, type EndpointHandler, type ServiceOptions } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { CounterService } from '../../examples/hooks/hooks.service.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { serveForEachTest } from '../../test/helpers/services.ts';

const serve = serveForEachTest();

const quiet: ServiceOptions = { host: '127.0.0.1', port: 0, logger: false };

async function post(url: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await request(url, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

async function get(url: string) {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: res.headers['content-type']?.toString().includes('json') ? JSON.parse(text) : undefined };
}

describe('endpoints over HTTP', () => {
  it('echoes through the endpoint with defaults filled in', async () => {
    const s = await serve(new EchoService(quiet));
    const res = await post(`${s.url}/echo`, JSON.stringify({ message: 'hello' }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ echoed: 'hello' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('returns the caller\'s X-Request-ID and logs one line per request with its duration', async () => {
    const logs = logCapture();
    const s = await serve(new EchoService({ ...quiet, logger: { level: 'info', stream: logs.stream } }));
    const res = await post(`${s.url}/echo`, '{"message":"x"}', { 'content-type': 'application/json', 'x-request-id': 'trace-42' });
    expect(res.headers['x-request-id']).toBe('trace-42');
    const lines = logs.lines.filter((l) => l.requestId === 'trace-42');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'POST', url: '/echo', status: 200, msg: 'request' });
    expect(typeof lines[0]!.durationMs).toBe('number');
  });

  it('replaces a request id that could forge log lines', async () => {
    const s = await serve(new EchoService(quiet));
    const res = await post(`${s.url}/echo`, '{"message":"x"}', { 'content-type': 'application/json', 'x-request-id': 'a b\tc' });
    expect(res.headers['x-request-id']).not.toBe('a b\tc');
  });

  describe('422 for every kind of bad input, each issue with its path', () => {
    it.each([
      ['a missing field', '{"delay": 1}', [{ path: ['message'] }]],
      ['wrong types', '{"message": 5, "delay": "slow"}', [{ path: ['message'] }, { path: ['delay'] }]],
      ['a value out of range', '{"message": "x", "delay": -1}', [{ path: ['delay'] }]],
      ['malformed JSON', '{"message": ', [{ path: [] }]],
      ['an empty body', '', [{ path: [] }]],
      ['a JSON array instead of an object', '[1,2]', [{ path: [] }]],
    ])('%s', async (_what, body, expected) => {
      const s = await serve(new EchoService(quiet));
      const res = await post(`${s.url}/echo`, body);
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({ error: 'Unprocessable Entity', code: 'TASKMESH_INVALID_INPUT', request_id: res.headers['x-request-id'] });
      expect(res.json.issues).toHaveLength(expected.length);
      expected.forEach((issue, i) => {
        expect(res.json.issues[i].path).toEqual(issue.path);
        expect(res.json.issues[i].message).toEqual(expect.any(String));
      });
    });

    it('an empty body with no content type at all', async () => {
      const s = await serve(new EchoService(quiet));
      const res = await post(`${s.url}/echo`, undefined, {});
      expect(res.status).toBe(422);
      expect(res.json.issues[0].message).toMatch(/Body is empty/);
    });
  });

  it('strips unknown fields, and refuses them when the schema is strict', async () => {
    const strictTask = task({ name: 'strict', input: z.strictObject({ a: z.number() }), output: z.object({ keys: z.array(z.string()) }) });
    const looseTask = task({ name: 'loose', input: z.object({ a: z.number() }), output: z.object({ keys: z.array(z.string()) }) });
    class Fields extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('strict', (input) => ({ keys: Object.keys(input) }), { schema: strictTask });
        this.addEndpoint('loose', (input) => ({ keys: Object.keys(input) }), { schema: looseTask });
      }
    }
    const s = await serve(new Fields(quiet));
    expect((await post(`${s.url}/loose`, '{"a":1,"extra":true}')).json).toEqual({ keys: ['a'] });
    const strict = await post(`${s.url}/strict`, '{"a":1,"extra":true}');
    expect(strict.status).toBe(422);
    expect(strict.json.issues[0].message).toMatch(/extra/);
  });

  it('answers 413 for a body over the limit, and accepts a raised limit', async () => {
    const big = JSON.stringify({ message: 'x'.repeat(2 * 1024 * 1024) });
    const s = await serve(new EchoService(quiet));
    const res = await post(`${s.url}/echo`, big);
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: 'TASKMESH_BODY_TOO_LARGE', message: expect.stringMatching(/bodyLimit/) });
    const roomy = await serve(new EchoService({ ...quiet, bodyLimit: 4 * 1024 * 1024 }));
    expect((await post(`${roomy.url}/echo`, big)).status).toBe(200);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const s = await serve(new EchoService(quiet));
    const res = await post(`${s.url}/echo`, 'message=hi', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(res.json.message).toMatch(/application\/json/);
    expect((await post(`${s.url}/echo`, '{"message":"hi"}', { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('answers 404 naming the path for an unknown endpoint', async () => {
    const s = await serve(new EchoService(quiet));
    const res = await post(`${s.url}/nope`, '{}');
    expect(res.status).toBe(404);
    expect(res.json.message).toMatch(/POST \/nope/);
  });
});

describe('handler failures', () => {
  const boom = task({ name: 'boom', output: z.object({ ok: z.boolean() }) });
  const liar = task({ name: 'liar', output: z.object({ count: z.number() }) });
  const boomLater = task({ name: 'boomLater', output: z.object({ ok: z.boolean() }) });
  const liarLater = task({ name: 'liarLater', output: z.object({ count: z.number() }) });
  class Faulty extends Service {
    constructor(o: ServiceOptions) {
      super(o);
      this.addEndpoint('boom', this.boom, { schema: boom });
      this.addEndpoint('liar', this.liar, { schema: liar });
      // The same two failures from handlers that answer later (a promise, and a bare thenable).
      this.addEndpoint('boomLater', async () => {
        await Promise.resolve();
        throw new Error('database is on fire');
      }, { schema: boomLater });
      this.addEndpoint('liarLater', () => ({ then: (resolve: (value: unknown) => void) => resolve({ count: 'many' }) }) as unknown as Promise<{ count: number }>, { schema: liarLater });
    }
    boom: EndpointHandler<typeof boom> = () => {
      throw new Error('database is on fire');
    };
    liar: EndpointHandler<typeof liar> = () => ({ count: 'many' }) as unknown as { count: number };
  }

  it('a throwing handler is a 500 with its message and the request id, without a stack', async () => {
    const s = await serve(new Faulty({ ...quiet, development: false }));
    const res = await post(`${s.url}/boom`);
    expect(res.status).toBe(500);
    expect(res.json).toEqual({
      error: 'Internal Server Error',
      code: 'TASKMESH_HANDLER_FAILED',
      message: 'database is on fire',
      request_id: res.headers['x-request-id'],
    });
  });

  it('answers alike when the handler fails or lies after a promise', async () => {
    const s = await serve(new Faulty({ ...quiet, development: false }));
    const failed = await post(`${s.url}/boomLater`);
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ code: 'TASKMESH_HANDLER_FAILED', message: 'database is on fire' });
    const lied = await post(`${s.url}/liarLater`);
    expect(lied.status).toBe(500);
    expect(lied.json.code).toBe('TASKMESH_INVALID_OUTPUT');
  });

  it('development mode adds the stack trace', async () => {
    const s = await serve(new Faulty({ ...quiet, development: true }));
    const res = await post(`${s.url}/boom`);
    expect(res.json.stack).toMatch(/database is on fire\n\s+at /);
  });

  it('a handler returning the wrong shape is a 500 and an error log line, never the garbage', async () => {
    const logs = logCapture();
    const s = await serve(new Faulty({ ...quiet, logger: { level: 'info', stream: logs.stream } }));
    const res = await post(`${s.url}/liar`);
    expect(res.status).toBe(500);
    expect(res.json.code).toBe('TASKMESH_INVALID_OUTPUT');
    expect(JSON.stringify(res.json)).not.toContain('many');
    const line = logs.lines.find((l) => l.level === 50 && String(l.msg).includes('output schema'));
    expect(line).toMatchObject({ endpoint: 'liar', requestId: res.headers['x-request-id'] });
  });
});

describe('built-in endpoints', () => {
  const names = ['endpoints', 'status', 'heartbeat', 'server_id', 'class_name', 'pid_file', 'detailed_endpoints'];

  it.each(names)('%s answers GET and POST alike', async (name) => {
    const s = await serve(new EchoService({ ...quiet, pidFile: '/tmp/taskmesh-test-echo.pid' }));
    const viaGet = await get(`${s.url}/${name}`);
    const viaPost = await post(`${s.url}/${name}`);
    expect(viaGet.status).toBe(200);
    expect(viaPost.json).toEqual(viaGet.json);
  });

  it('reply with the wire shapes', async () => {
    const s = await serve(new EchoService({ ...quiet, pidFile: '/tmp/taskmesh-test-echo2.pid' }));
    expect((await get(`${s.url}/endpoints`)).json.endpoints).toEqual(expect.arrayContaining(['echo', ...names, 'shutdown']));
    expect((await get(`${s.url}/status`)).json).toEqual({ status: 'Available' });
    expect((await get(`${s.url}/server_id`)).json).toEqual({ server_id: s.serverId });
    expect((await get(`${s.url}/class_name`)).json).toEqual({ class_name: 'EchoService' });
    expect((await get(`${s.url}/pid_file`)).json).toEqual({ pid_file: '/tmp/taskmesh-test-echo2.pid' });
    expect((await get(`${s.url}/heartbeat`)).json).toEqual({
      heartbeat: { status: 'Available', server_id: s.serverId, message: 'EchoService is available.', details: null },
    });
    const detailed = (await get(`${s.url}/detailed_endpoints`)).json.endpoints;
    expect(detailed.echo).toMatchObject({
      path: 'echo',
      method_name: 'echo',
      methods: ['POST'],
      as_tool: true,
      scope: 'public',
      builtin: false,
      input_schema: { type: 'object', required: ['message'], properties: { message: { type: 'string' }, delay: { type: 'number', default: 0 } } },
      output_schema: { type: 'object', required: ['echoed'], properties: { echoed: { type: 'string' } } },
    });
    expect(detailed.shutdown).toMatchObject({ methods: ['POST'], scope: 'admin', builtin: true });
  });

  it('server ids are random v4 UUIDs, different for each service', async () => {
    const a = new EchoService(quiet);
    const b = new EchoService(quiet);
    expect(a.serverId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.serverId).not.toBe(b.serverId);
  });

  it('heartbeat carries a subclass\'s details', async () => {
    const s = await serve(new CounterService(quiet));
    await post(`${s.url}/count`, '{"by": 3}');
    expect((await get(`${s.url}/heartbeat`)).json.heartbeat.details).toEqual({ store: 'open', total: 3 });
  });
});

describe('OpenAPI and docs', () => {
  it('serves OpenAPI 3.1 generated from the contracts', async () => {
    const s = await serve(new EchoService(quiet));
    const doc = (await get(`${s.url}/openapi.json`)).json;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('EchoService');
    expect(doc.paths['/echo'].post.requestBody.content['application/json'].schema.required).toEqual(['message']);
    expect(doc.paths['/echo'].post.responses['200'].content['application/json'].schema.properties.echoed).toEqual({ type: 'string' });
    expect(Object.keys(doc.paths['/status'])).toEqual(['get', 'post']);
    expect(doc.paths['/shutdown'].post.security).toEqual([{ adminToken: [] }]);
  });

  it('says in its info what the options say of the service, and lists a GET\'s input as query parameters', async () => {
    const find = task({ name: 'find', input: z.object({ q: z.string().describe('What to look for'), limit: z.coerce.number().optional() }), methods: ['GET'] });
    class Finder extends Service.for(contract('Finder', { find })) {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('find', ({ q }) => q, { schema: find });
      }
    }
    const s = await serve(
      new Finder({ ...quiet, version: '2.1.0', summary: 'Finds things.', termsOfService: 'https://example.com/terms', contact: { email: 'ops@example.com' }, license: { name: 'MIT', identifier: 'MIT' } }),
    );
    const doc = (await get(`${s.url}/openapi.json`)).json;
    expect(doc.info).toEqual({ title: 'Finder', version: '2.1.0', summary: 'Finds things.', termsOfService: 'https://example.com/terms', contact: { email: 'ops@example.com' }, license: { name: 'MIT', identifier: 'MIT' } });
    expect(doc.paths['/find'].get.requestBody).toBeUndefined();
    expect(doc.paths['/find'].get.parameters).toEqual([
      { name: 'q', in: 'query', required: true, description: 'What to look for', schema: { type: 'string', description: 'What to look for' } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'number' } },
    ]);
  });

  it('serves an interactive docs page', async () => {
    const s = await serve(new EchoService(quiet));
    const page = await get(`${s.url}/docs/`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/swagger-ui/i);
    const spec = await get(`${s.url}/docs/json`);
    expect(spec.json.paths['/echo']).toBeDefined();
    const script = await get(`${s.url}/docs/static/swagger-ui-bundle.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.text.length).toBeGreaterThan(100_000);
    const bare = await request(`${s.url}/docs`);
    await bare.body.dump();
    expect([200, 302]).toContain(bare.statusCode);
  });
});

describe('definitions', () => {
  it('endpoints belong to their class', async () => {
    const a = task({ name: 'only_a' });
    const b = task({ name: 'only_b' });
    class A extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('only_a', () => null, { schema: a });
      }
    }
    class B extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('only_b', () => null, { schema: b });
      }
    }
    const sa = await serve(new A(quiet));
    const sb = await serve(new B(quiet));
    expect((await get(`${sa.url}/endpoints`)).json.endpoints).not.toContain('only_b');
    expect((await get(`${sb.url}/endpoints`)).json.endpoints).not.toContain('only_a');
    expect((await post(`${sb.url}/only_a`)).status).toBe(404);
  });

  it('refuses a duplicate path, a built-in path, and a contract task without an endpoint', async () => {
    const t = task({ name: 'dup' });
    class Dup extends Service {
      constructor() {
        super(quiet);
        this.addEndpoint('dup', () => null, { schema: t });
        this.addEndpoint('dup', () => null, { schema: t });
      }
    }
    expect(() => new Dup()).toThrow(/already has an endpoint at "dup"/);
    class Builtin extends Service {
      constructor() {
        super(quiet);
        this.addEndpoint('status', () => null, { schema: task({ name: 'status' }) });
      }
    }
    expect(() => new Builtin()).toThrow(/built-in endpoint/);
    const Incomplete = class extends Service.for(contract('Incomplete', { t })) {};
    await expect(new Incomplete(quiet).start()).rejects.toThrow(/task "t" has no endpoint.*addEndpoint\('dup'/);
  });

  it('serves dotted paths, with a valid client method name', async () => {
    const list = task({ name: 'models.list', output: z.object({ models: z.array(z.string()) }) });
    class Models extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('models.list', () => ({ models: ['a'] }), { schema: list });
      }
    }
    const s = await serve(new Models(quiet));
    expect((await post(`${s.url}/models.list`)).json).toEqual({ models: ['a'] });
    expect((await get(`${s.url}/detailed_endpoints`)).json.endpoints['models.list'].method_name).toBe('models_list');
  });

  it('a task may have no input and no output', async () => {
    const ping = task({ name: 'ping' });
    let calls = 0;
    class Pinger extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('ping', () => {
          calls += 1;
        }, { schema: ping });
      }
    }
    const s = await serve(new Pinger(quiet));
    const res = await post(`${s.url}/ping`, '');
    expect(res.status).toBe(200);
    expect(res.json).toBeNull();
    expect(calls).toBe(1);
  });
});

describe('request context', () => {
  it('the handler\'s signal fires when the caller hangs up, and not for a completed request', async () => {
    const wait = task({ name: 'wait', input: z.object({ ms: z.number() }) });
    const seen: string[] = [];
    class Waiter extends Service {
      constructor(o: ServiceOptions) {
        super(o);
        this.addEndpoint('wait', async ({ ms }, { signal, requestId }) => {
          const outcome = await new Promise<string>((resolve) => {
            const timer = setTimeout(() => resolve('finished'), ms);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve('aborted');
            });
          });
          seen.push(`${requestId}:${outcome}`);
          return null;
        }, { schema: wait });
      }
    }
    const s = await serve(new Waiter(quiet));
    await post(`${s.url}/wait`, '{"ms":1}', { 'content-type': 'application/json', 'x-request-id': 'quick' });
    const hangUp = request(`${s.url}/wait`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'impatient' },
      body: '{"ms":5000}',
      signal: AbortSignal.timeout(100),
    });
    await expect(hangUp).rejects.toThrow();
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['quick:finished', 'impatient:aborted']);
  });
});
