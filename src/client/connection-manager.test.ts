import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CallTimeoutError,
  ConnectionManager,
  ErrorCodes,
  InvalidInputError,
  InvalidOutputError,
  Service,
  ServerStatus,
  ServiceCallError,
  ServiceUnreachableError,
  connect,
  contract,
  task,
  type EndpointHandler,
  type ServiceOptions,
} from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { EchoContract } from '../../examples/echo/echo.contract.ts';
import { freePort } from '../../test/helpers/free-port.ts';

const quiet: ServiceOptions = { host: '127.0.0.1', port: 0, logger: false };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

async function serve<S extends Service>(service: S): Promise<S> {
  cleanup.push(() => service.stop());
  await service.start();
  return service;
}

/** A service whose endpoints exercise every client path: collisions, failures, dotted names. */
const close = task({ name: 'close', input: z.object({ door: z.string() }), output: z.object({ closed: z.string() }) });
const boom = task({ name: 'boom', output: z.object({ ok: z.boolean() }) });
const drift = task({ name: 'drift', output: z.object({ n: z.number(), unit: z.string().default('ms') }) });
const modelsList = task({ name: 'models.list', input: z.object({ prefix: z.string().optional() }), output: z.object({ models: z.array(z.string()) }) });
const ToolboxContract = contract('Toolbox', { close, boom, drift, models_list: modelsList });

class Toolbox extends Service.for(ToolboxContract, import.meta.url) {
  calls = 0;
  constructor(o?: ServiceOptions) {
    super(o);
    this.addEndpoint('close', this.close, { schema: close });
    this.addEndpoint('boom', () => {
      throw new Error('kaput');
    }, { schema: boom });
    this.addEndpoint('drift', () => ({ n: 1 }), { schema: drift });
    this.addEndpoint('models.list', ({ prefix }) => ({ models: ['alpha', 'beta'].filter((m) => !prefix || m.startsWith(prefix)) }), { schema: modelsList });
  }
  close: EndpointHandler<typeof close> = ({ door }) => {
    this.calls += 1;
    return { closed: door };
  };
}

describe('the quick start, end to end', () => {
  it('names the service\'s MCP endpoint', async () => {
    const cm = new ConnectionManager({ url: 'http://127.0.0.1:1/base/' });
    expect(cm.mcpUrl).toBe('http://127.0.0.1:1/base/mcp-server/mcp');
    await cm.close();
  });

  it('serves, connects with the contract, calls, and shuts down', async () => {
    const service = await serve(new EchoService(quiet));
    const cm = await EchoService.connect(service.url);
    cleanup.push(() => cm.close());
    expect(cm.url).toBe(service.url);
    expect(cm.serverId).toBe(service.serverId);
    expect(await cm.echo({ message: 'Hello' })).toEqual({ echoed: 'Hello' });
    expect(await cm.status()).toBe(ServerStatus.Available);
    expect(await cm.heartbeat()).toMatchObject({ status: 'Available', server_id: service.serverId });
    expect(await cm.endpoints()).toContain('echo');
    expect(await cm.className()).toBe('EchoService');
    expect(await cm.pidFile()).toBeNull();
    expect((await cm.detailedEndpoints()).echo?.as_tool).toBe(true);
    await cm.shutdown({ block: true });
    // Down as a client sees it: its URL refuses connections (the service may still be finishing onShutdown).
    expect(await cm.status()).toBe(ServerStatus.Down);
    expect(await EchoService.statusAtHost(service.url)).toBe(ServerStatus.Down);
    await service.whenDown();
  });

  it('`await using` a client that owns its service shuts the service down', async () => {
    const service = await serve(new EchoService(quiet));
    {
      await using cm = await connect(service.url, EchoContract, { shutdownOnDispose: true });
      expect((await cm.echo({ message: 'in scope' })).echoed).toBe('in scope');
    }
    expect(await EchoService.statusAtHost(service.url)).toBe(ServerStatus.Down);
    await service.whenDown();
  });

  it('`await using` a plain client only releases its connections', async () => {
    const service = await serve(new EchoService(quiet));
    let client;
    {
      await using cm = await EchoService.connect(service.url);
      client = cm;
    }
    expect(service.status).toBe(ServerStatus.Available);
    await expect(client.echo({ message: 'x' })).rejects.toThrow(/closed; connect again/);
  });
});

describe('calls and their failures', () => {
  it('validates input before sending: nothing reaches the service', async () => {
    const service = await serve(new Toolbox(quiet));
    const cm = await Toolbox.connect(service.url);
    cleanup.push(() => cm.close());
    const error = await cm.call('close', { door: 42 } as never).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.issues).toEqual([{ path: ['door'], message: expect.any(String) }]);
    expect(service.calls).toBe(0);
  });

  it('with validateInput: false the service\'s 422 comes back as a typed error with its issues and request id', async () => {
    const service = await serve(new EchoService(quiet));
    const cm = await EchoService.connect(service.url);
    cleanup.push(() => cm.close());
    const error = await cm.echo({ message: 7 } as never, { validateInput: false, requestId: 'req-7' }).catch((e) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect(error).toMatchObject({ status: 422, code: ErrorCodes.INVALID_INPUT, requestId: 'req-7', endpoint: 'echo' });
    expect(error.issues[0].path).toEqual(['message']);
    expect(error.message).toMatch(/echo failed with 422.*message: .*request id req-7/);
  });

  it('a handler error is a ServiceCallError with the 500, the message and the request id', async () => {
    const service = await serve(new Toolbox(quiet));
    const cm = await Toolbox.connect(service.url);
    cleanup.push(() => cm.close());
    const error = await cm.boom().catch((e) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect(error).toMatchObject({ status: 500, serverCode: 'TASKMESH_HANDLER_FAILED', requestId: expect.any(String) });
    expect(error.message).toMatch(/kaput/);
  });

  it('parses output with the schema, or returns the raw JSON with validateOutput: false', async () => {
    const service = await serve(new Toolbox(quiet));
    const cm = await Toolbox.connect(service.url);
    cleanup.push(() => cm.close());
    expect(await cm.drift()).toEqual({ n: 1, unit: 'ms' });
    expect(await cm.drift(undefined, { validateOutput: false })).toEqual({ n: 1, unit: 'ms' });
  });

  it('a reply that breaks the client\'s output schema is an InvalidOutputError', async () => {
    const service = await serve(new EchoService(quiet));
    const stricter = contract('EchoService', {
      echo: task({ name: 'echo', input: z.object({ message: z.string() }), output: z.object({ echoed: z.number() }) }),
    });
    const cm = await connect(service.url, stricter);
    cleanup.push(() => cm.close());
    await expect(cm.echo({ message: 'x' })).rejects.toBeInstanceOf(InvalidOutputError);
    expect(await cm.echo({ message: 'x' }, { validateOutput: false })).toEqual({ echoed: 'x' });
  });

  it('a call that takes too long is a CallTimeoutError naming the timeout', async () => {
    const service = await serve(new EchoService(quiet));
    const cm = await EchoService.connect(service.url);
    cleanup.push(() => cm.close());
    const error = await cm.echo({ message: 'slow', delay: 2 }, { timeout: 150 }).catch((e) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.message).toMatch(/within 150 ms/);
  });

  it('an aborted call is an ABORTED error', async () => {
    const service = await serve(new EchoService(quiet));
    const cm = await EchoService.connect(service.url);
    cleanup.push(() => cm.close());
    const error = await cm.echo({ message: 'slow', delay: 2 }, { signal: AbortSignal.timeout(100) }).catch((e) => e);
    expect(error.code).toBe(ErrorCodes.TIMEOUT);
    const controller = new AbortController();
    const pending = cm.echo({ message: 'slow', delay: 2 }, { signal: controller.signal }).catch((e) => e);
    controller.abort();
    expect((await pending).code).toBe(ErrorCodes.ABORTED);
  });

  it('nothing answering is its own error naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await EchoService.connect(url).catch((e) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect(error.url).toBe(url);
    expect(error.message).toContain(`Nothing answers at ${url}`);
    expect(await EchoService.statusAtHost(url)).toBe(ServerStatus.Down);
    await expect(connect(url)).rejects.toBeInstanceOf(ServiceUnreachableError);
  });

  it('a service that dies between calls gives ServiceUnreachableError, and status() says Down', async () => {
    const service = await serve(new EchoService(quiet));
    const cm = await EchoService.connect(service.url);
    cleanup.push(() => cm.close());
    await service.stop();
    await expect(cm.echo({ message: 'x' })).rejects.toBeInstanceOf(ServiceUnreachableError);
    expect(await cm.status()).toBe(ServerStatus.Down);
  });

  it('shutdown of a token-protected service: refused without the token, done with it', async () => {
    const service = await serve(new EchoService({ ...quiet, host: '0.0.0.0', adminToken: 't0ken' }));
    const url = `http://127.0.0.1:${new URL(service.url).port}`;
    const anonymous = await EchoService.connect(url, { token: '' });
    cleanup.push(() => anonymous.close());
    const error = await anonymous.shutdown().catch((e) => e);
    expect(error).toMatchObject({ status: 401, code: ErrorCodes.UNAUTHORIZED });
    const admin = await EchoService.connect(url, { token: 't0ken' });
    cleanup.push(() => admin.close());
    await admin.shutdown({ block: true });
    expect(await EchoService.statusAtHost(url)).toBe(ServerStatus.Down);
    await service.whenDown();
  });
});

describe('generated methods', () => {
  it('never replace built-ins: a colliding endpoint is reached with call()', async () => {
    const service = await serve(new Toolbox(quiet));
    const cm = await Toolbox.connect(service.url);
    cleanup.push(() => cm.close());
    expect(typeof cm.close).toBe('function');
    expect(await cm.call('close', { door: 'front' })).toEqual({ closed: 'front' });
    expect(service.status).toBe(ServerStatus.Available);
    expect(await cm.models_list({ prefix: 'b' })).toEqual({ models: ['beta'] });
    expect(await cm.call('models_list', {})).toEqual({ models: ['alpha', 'beta'] });
  });

  it('connect(url) without a contract builds methods and input validation from detailed_endpoints', async () => {
    const service = await serve(new Toolbox(quiet));
    const cm = await connect(service.url);
    cleanup.push(() => cm.close());
    expect(cm.serverId).toBe(service.serverId);
    expect(await cm.models_list({ prefix: 'a' })).toEqual({ models: ['alpha'] });
    expect(await cm.drift()).toEqual({ n: 1, unit: 'ms' });
    const error = await cm.models_list({ prefix: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues?.[0]?.path).toEqual(['prefix']);
    expect(await cm.call('close', { door: 'back' })).toEqual({ closed: 'back' });
    expect(await cm.status()).toBe('Available');
  });

  it('a custom connection manager, registered or declared, is what connect() returns', async () => {
    class LoudEcho extends ConnectionManager<typeof EchoContract> {
      async shout(message: string): Promise<string> {
        return (await this.echo({ message })).echoed.toUpperCase();
      }
    }
    class DeclaredEcho extends EchoService {
      static override connectionManager = LoudEcho;
    }
    const service = await serve(new EchoService(quiet));
    const declared = await DeclaredEcho.connect(service.url);
    cleanup.push(() => declared.close());
    expect(declared).toBeInstanceOf(LoudEcho);
    expect(await declared.shout('hey')).toBe('HEY');

    class RegisteredEcho extends EchoService {}
    RegisteredEcho.registerConnectionManager(LoudEcho);
    const registered = await RegisteredEcho.connect(service.url);
    cleanup.push(() => registered.close());
    expect(registered).toBeInstanceOf(LoudEcho);
    expect(await (registered as unknown as LoudEcho).shout('ho')).toBe('HO');
    expect(await EchoService.connect(service.url).then(async (cm) => (await cm.close(), cm instanceof LoudEcho))).toBe(false);
  });
});

describe('the admin token', () => {
  it('travels only with admin calls, never with ordinary ones', async () => {
    const { createServer } = await import('node:http');
    const seen: Record<string, string | undefined> = {};
    // A plain server that records what arrives: the header must not even reach a public endpoint.
    const server = createServer((req, res) => {
      seen[req.url ?? ''] = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/heartbeat' ? JSON.stringify({ heartbeat: { status: 'Available', server_id: 'x', message: null, details: null } }) : '{"status":"Stopping"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const Mixed = contract('Mixed', {
      open: task({ name: 'open' }),
      purge: task({ name: 'purge', scope: 'admin' }),
    });
    const cm = await connect(url, Mixed, { token: 'secret' });
    cleanup.push(() => cm.close());
    await cm.open();
    await cm.purge();
    await cm.shutdown({ block: false });
    expect(seen).toEqual({ '/heartbeat': undefined, '/open': undefined, '/purge': 'Bearer secret', '/shutdown': 'Bearer secret' });
  });
});

describe('endpoints called with GET', () => {
  const search = task({
    name: 'search',
    // A query string repeats a field for an array, and one item comes as a lone string.
    input: z.object({
      q: z.string(),
      limit: z.coerce.number().int().default(10),
      tags: z
        .union([z.string(), z.array(z.string())])
        .transform((v) => (Array.isArray(v) ? v : [v]))
        .optional(),
    }),
    output: z.object({ q: z.string(), limit: z.number(), tags: z.array(z.string()) }),
    methods: ['GET'],
  });
  const SearchContract = contract('Search', { search });
  class SearchService extends Service.for(SearchContract, import.meta.url) {
    constructor(o?: ServiceOptions) {
      super(o);
      this.addEndpoint('search', ({ q, limit, tags }) => ({ q, limit, tags: tags ?? [] }), { schema: search });
    }
  }

  it('sends the input as the query string, from a typed client and from one built from the service', async () => {
    const service = await serve(new SearchService(quiet));
    await using typed = await SearchService.connect(service.url!);
    expect(await typed.search({ q: 'red fish', limit: 3, tags: ['a', 'b&c'] })).toEqual({ q: 'red fish', limit: 3, tags: ['a', 'b&c'] });
    expect(await typed.search({ q: 'one', tags: ['only'] })).toEqual({ q: 'one', limit: 10, tags: ['only'] });
    await using dynamic = await connect(service.url!);
    expect(await dynamic.search({ q: 'x' })).toEqual({ q: 'x', limit: 10, tags: [] });
    const direct = await fetch(`${service.url}/search?q=raw&limit=2`);
    expect(await direct.json()).toEqual({ q: 'raw', limit: 2, tags: [] });
  });

  it('refuses input a query string cannot carry, before sending anything', async () => {
    const service = await serve(new SearchService(quiet));
    await using client = await connect(service.url!);
    const error = await client.call('search', { q: 'x', nested: { no: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).message).toContain('field "nested" holds an object');
  });

  it('an endpoint that answers a method its task\'s clients do not call with is a definition error that says what to declare', () => {
    const plain = task({ name: 'plain', output: z.object({ ok: z.boolean() }) });
    class Wrong extends Service.for(contract('Wrong', { plain })) {
      constructor() {
        super(quiet);
        this.addEndpoint('plain', () => ({ ok: true }), { schema: plain, methods: ['GET'] });
      }
    }
    expect(() => new Wrong()).toThrow(/answers GET, but clients of its task call it with POST: declare methods: \["GET"\] on the task/);
    expect(() => task({ name: 'bad', methods: ['get' as 'GET'] })).toThrow(/give one or more of GET, POST, PUT, PATCH, DELETE, in capitals/);
  });
});

describe('headers of the client', () => {
  /** The echo service behind a key its configureApp checks on every request. */
  class KeyedEchoService extends EchoService {
    protected override async configureApp(app: Parameters<EchoService['configureApp']>[0]): Promise<void> {
      app.addHook('onRequest', async (request, reply) => {
        if (request.headers['x-api-key'] !== 'open-sesame') await reply.code(401).send({ error: 'Unauthorized', code: 'NO_KEY', message: 'Send X-Api-Key.' });
      });
    }
  }

  it('go with every request, built-in ones too, and a call\'s own replace them', async () => {
    const service = await serve(new KeyedEchoService(quiet));
    await using client = await KeyedEchoService.connect(service.url!, { headers: { 'X-Api-Key': 'open-sesame' } });
    expect(await client.echo({ message: 'let in' })).toEqual({ echoed: 'let in' });
    expect(await client.status()).toBe(ServerStatus.Available);
    const refused = await client.echo({ message: 'x' }, { headers: { 'x-api-key': 'wrong' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceCallError);
    expect((refused as ServiceCallError).status).toBe(401);
    await expect(KeyedEchoService.connect(service.url!)).rejects.toMatchObject({ status: 401, message: expect.stringContaining('Send X-Api-Key.') });
    await using dynamic = await connect(service.url!, undefined, { headers: { 'x-api-key': 'open-sesame' } });
    expect(await dynamic.echo({ message: 'built' })).toEqual({ echoed: 'built' });
    const mcp = await client.mcpClient;
    expect((await mcp.callTool({ name: 'echo', arguments: { message: 'over MCP' } })).structuredContent).toEqual({ echoed: 'over MCP' });
  });
});
