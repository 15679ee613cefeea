// The MCP endpoint at the HTTP level: stateless 2025-era requests, sessions (ids, ending, idle
// time-out, rebuilding in another process), transport errors, DNS rebinding protection, admin tools.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraClient, eventually } from '../fixtures/clients.ts';
import { NotesService } from '../fixtures/notes.service.ts';
import { mcpUrl } from '../../config.ts';
import type { ServiceOptions } from '../../index.ts';

const ACCEPT = 'application/json, text/event-stream';
const started: NotesService[] = [];

async function serve(options: ServiceOptions = {}): Promise<{ service: NotesService; endpoint: string }> {
  const service = new NotesService({ host: '127.0.0.1', port: 0, logger: false, ...options });
  started.push(service);
  return { service, endpoint: mcpUrl(await service.start()) };
}

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

function post(endpoint: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** A reply's JSON body, untyped: the tests check its shape. */
async function json(response: Response): Promise<any> {
  return response.json();
}

const call = (id: number | string, name: string, args: object, meta?: object) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
});

const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** Open a 2025-era session with a bare initialize (no GET stream); its id. */
async function openSession(endpoint: string): Promise<string> {
  const response = await post(endpoint, initialize);
  expect(response.status).toBe(200);
  await response.text();
  const id = response.headers.get('mcp-session-id');
  expect(id).toBeTruthy();
  const initialized = await post(endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id!, 'mcp-protocol-version': '2025-11-25' });
  expect(initialized.status).toBe(202);
  return id!;
}

/** A tools/call within a session; the JSON-RPC message of the reply (JSON or SSE). */
async function callInSession(endpoint: string, session: string, name: string, args: object, version = '2025-11-25'): Promise<{ status: number; message: { result?: any; error?: any } }> {
  const response = await post(endpoint, call(7, name, args), { 'mcp-session-id': session, 'mcp-protocol-version': version });
  const text = await response.text();
  const data = text.startsWith('{') ? text : (text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).at(-1)?.slice(6) ?? 'null');
  return { status: response.status, message: JSON.parse(data) };
}

describe('2025-era requests without a session', () => {
  let service: NotesService;
  let endpoint: string;
  beforeAll(async () => ({ service, endpoint } = await serve()));

  it('answers a tools/call in JSON, with the caller\'s id', async () => {
    const response = await post(endpoint, call('abc', 'notes.add', { title: 'stateless' }), { 'mcp-protocol-version': '2025-11-25' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = await json(response);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'abc', result: { structuredContent: { id: expect.any(Number) } } });
  });

  it('keeps concurrent callers that use the same JSON-RPC id apart', async () => {
    const replies = await Promise.all(['a', 'b', 'c', 'd'].map((text) => post(endpoint, call(1, 'shout', { text })).then(json)));
    expect(replies.map((r) => r.result.structuredContent.result)).toEqual(['A', 'B', 'C', 'D']);
    expect(replies.every((r) => r.id === 1)).toBe(true);
  });

  it('streams progress over SSE when the caller asks for it, then the result', async () => {
    const response = await post(endpoint, call(9, 'wait', { ms: 30 }, { progressToken: 'p1' }));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    expect(events.filter((e) => e.method === 'notifications/progress').map((e) => e.params.progress)).toEqual([1, 2, 3]);
    expect(events.at(-1)).toMatchObject({ id: 9, result: { content: [{ type: 'text', text: 'waited' }] } });
  });

  it('cancels the handler when the caller goes away', async () => {
    const abort = new AbortController();
    const response = await post(endpoint, call(10, 'wait', { ms: 3_000 }, { progressToken: 'p2' }), {}, abort.signal);
    const reader = response.body!.getReader();
    await reader.read(); // the first progress event: the handler runs
    abort.abort();
    const reason = await eventually(() => service.aborted[0], 10_000, 'the handler to see the abort');
    expect(reason).toContain('went away');
  });

  it('cancels a plain tools/call (served directly) when the caller goes away', async () => {
    const abort = new AbortController();
    const before = service.aborted.length;
    const pending = post(endpoint, call(11, 'wait', { ms: 3_001 }), {}, abort.signal).catch((error: unknown) => error);
    await eventually(() => (service.waiting.includes(3_001) ? true : undefined), 10_000, 'the handler to start');
    abort.abort();
    await pending;
    const reason = await eventually(() => service.aborted[before], 10_000, 'the handler to see the abort');
    expect(reason).toContain('went away');
  });

  it('answers a plain tools/call (served directly) as the SDK server answers one with a progress token', async () => {
    /** The JSON-RPC reply of a call, from a JSON body or the last event of an SSE stream. */
    const reply = async (body: object): Promise<{ messages: any[]; last: any }> => {
      const response = await post(endpoint, body);
      const text = await response.text();
      const messages = text.startsWith('{') ? [JSON.parse(text)] : text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
      return { messages, last: messages.at(-1) };
    };
    const cases: [string, object][] = [
      ['shout', { text: 'same' }],
      ['notes.count', {}],
      ['shout', { text: 5 }],
      ['missing', {}],
      ['explode', {}],
      ['announce', { text: 'hello' }],
    ];
    for (const [name, args] of cases) {
      const direct = await reply(call(1, name, args));
      const viaSdk = await reply(call(1, name, args, { progressToken: 'x' }));
      expect(direct.last, name).toEqual(viaSdk.last);
      expect(direct.messages.slice(0, -1), name).toEqual(viaSdk.messages.slice(0, -1));
    }
    const logged = await reply(call(2, 'announce', { text: 'hello' }));
    expect(logged.messages[0]).toEqual({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hello', logger: 'notes' } });
  });

  it('does not let one caller\'s logging level silence another caller', async () => {
    const setLevel = await post(endpoint, { jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'emergency' } });
    expect(await json(setLevel)).toMatchObject({ id: 1, result: {} });
    const text = await (await post(endpoint, call(2, 'announce', { text: 'still heard' }, { progressToken: 'p' }))).text();
    expect(text).toContain('still heard');
  });

  it('answers transport errors the way the Streamable HTTP transport does', async () => {
    const notAcceptable = await post(endpoint, call(1, 'shout', { text: 'x' }), { accept: 'application/json' });
    expect(notAcceptable.status).toBe(406);
    expect((await json(notAcceptable)).error.message).toContain('accept both application/json and text/event-stream');
    const badVersion = await post(endpoint, call(1, 'shout', { text: 'x' }), { 'mcp-protocol-version': '1999-01-01' });
    expect(badVersion.status).toBe(400);
    expect((await json(badVersion)).error.message).toContain('Unsupported protocol version: 1999-01-01');
    const empty = await post(endpoint, '');
    expect(empty.status).toBe(400);
    expect((await json(empty)).error).toMatchObject({ code: -32700 });
    const garbage = await post(endpoint, '{"jsonrpc":');
    expect(garbage.status).toBe(400);
    expect((await json(garbage)).error).toMatchObject({ code: -32700 });
    const text = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'text/plain', accept: ACCEPT }, body: 'hi' });
    expect(text.status).toBe(415);
    expect((await json(text)).error.message).toContain('Content-Type must be application/json');
    const get = await fetch(endpoint, { headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    expect((await json(get)).error.message).toContain('needs an Mcp-Session-Id');
    const notification = await post(endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(notification.status).toBe(202);
  });
});

describe('2025-era sessions', () => {
  it('negotiate 2025-06-18 with a client that asks for it', async () => {
    const { endpoint } = await serve();
    const response = await post(endpoint, { ...initialize, params: { ...initialize.params, protocolVersion: '2025-06-18' } });
    const text = await response.text();
    const answer = JSON.parse(text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data: {'))!.slice(6));
    expect(answer.result).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name: 'NotesService' }, capabilities: { tools: { listChanged: true } } });
    const session = response.headers.get('mcp-session-id')!;
    const { message } = await callInSession(endpoint, session, 'shout', { text: 'old' }, '2025-06-18');
    expect(message.result.structuredContent).toEqual({ result: 'OLD' });
  });

  it('refuses an unknown or forged session id with 404, so that the client starts over', async () => {
    const { endpoint } = await serve();
    const id = await openSession(endpoint);
    const forged = `${id.slice(0, id.indexOf('.'))}.${'A'.repeat(43)}`;
    for (const bad of ['nonsense', forged]) {
      const { status, message } = await callInSession(endpoint, bad, 'shout', { text: 'x' });
      expect(status).toBe(404);
      expect(message.error).toMatchObject({ code: -32001, data: { code: 'TASKMESH_MCP_SESSION' } });
      expect(message.error.message).toContain('Start a new session with initialize');
    }
  });

  it('ends a session on DELETE: its id is refused afterwards', async () => {
    const { service, endpoint } = await serve();
    const id = await openSession(endpoint);
    expect((await callInSession(endpoint, id, 'shout', { text: 'x' })).message.result.structuredContent).toEqual({ result: 'X' });
    const deleted = await fetch(endpoint, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
    expect(deleted.status).toBe(200);
    expect(service.mcp.sessionCount).toBe(0);
    expect((await callInSession(endpoint, id, 'shout', { text: 'x' })).status).toBe(404);
  });

  it('frees a session abandoned for longer than the idle time-out, and rebuilds it from its id if the client returns', async () => {
    const { service, endpoint } = await serve({ mcp: { sessionIdleTimeout: 100 } });
    const id = await openSession(endpoint);
    expect(service.mcp.sessionCount).toBe(1);
    await eventually(() => (service.mcp.sessionCount === 0 ? true : undefined), 10_000, 'the idle session to be freed');
    const { message } = await callInSession(endpoint, id, 'shout', { text: 'back' });
    expect(message.result.structuredContent).toEqual({ result: 'BACK' });
  });

  it('keeps a session with an open GET stream past the idle time-out', async () => {
    const { service, endpoint } = await serve({ mcp: { sessionIdleTimeout: 50 } });
    const client = await eraClient(endpoint.replace(/\/mcp-server\/mcp$/, ''), '2025-11-25');
    try {
      await eventually(() => (service.mcp.sessionStreams > 0 ? true : undefined), 5_000, 'the GET stream');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(service.mcp.sessionCount).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('is served by another process that shares the session secret, with no session store', async () => {
    const secret = 'shared-between-workers';
    const a = await serve({ mcp: { sessionSecret: secret } });
    const b = await serve({ mcp: { sessionSecret: secret } });
    const other = await serve({ mcp: { sessionSecret: 'another-secret' } });
    const id = await openSession(a.endpoint);
    const onB = await callInSession(b.endpoint, id, 'notes.add', { title: 'via b' });
    expect(onB.message.result.structuredContent).toEqual({ id: 1 });
    expect(b.service.mcp.sessionCount).toBe(1);
    expect((await callInSession(other.endpoint, id, 'shout', { text: 'x' })).status).toBe(404);
  });
});

it('serves at the mount path and app path of the settings', async () => {
  const saved = { mount: process.env.TASKMESH_MCP_MOUNT_PATH, app: process.env.TASKMESH_MCP_APP_PATH };
  process.env.TASKMESH_MCP_MOUNT_PATH = '/tools/';
  process.env.TASKMESH_MCP_APP_PATH = 'v1';
  try {
    const { endpoint } = await serve();
    expect(new URL(endpoint).pathname).toBe('/tools/v1');
    expect(await json(await post(endpoint, call(1, 'shout', { text: 'moved' })))).toMatchObject({ result: { structuredContent: { result: 'MOVED' } } });
    // With a trailing slash too, as the reference framework's docs write client configurations.
    expect(await json(await post(`${endpoint}/`, call(1, 'shout', { text: 'slash' })))).toMatchObject({ result: { structuredContent: { result: 'SLASH' } } });
    expect((await post(endpoint.replace('/tools/v1', '/mcp-server/mcp'), call(1, 'shout', { text: 'x' }))).status).toBe(404);
  } finally {
    for (const [key, value] of [['TASKMESH_MCP_MOUNT_PATH', saved.mount], ['TASKMESH_MCP_APP_PATH', saved.app]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

it('serves an MCP client configured with a trailing slash on the path, as the reference framework\'s docs write it', async () => {
  const { endpoint } = await serve();
  const client = new Client({ name: 'slash', version: '1' }, { versionNegotiation: { mode: 'legacy' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${endpoint}/`)));
  try {
    expect((await client.callTool({ name: 'shout', arguments: { text: 'slash' } })).structuredContent).toEqual({ result: 'SLASH' });
  } finally {
    await client.close();
  }
});

describe('DNS rebinding protection', () => {
  it('refuses a foreign Origin or Host on a loopback service, and says what to do', async () => {
    const { endpoint } = await serve();
    const origin = await post(endpoint, initialize, { origin: 'http://evil.example.com' });
    expect(origin.status).toBe(403);
    const body = await json(origin);
    expect(body.error).toMatchObject({ code: -32000, data: { code: 'TASKMESH_MCP_FORBIDDEN_ORIGIN' } });
    expect(body.error.message).toContain('mcp.allowedOrigins');
    const { request } = await import('undici');
    const host = await request(endpoint, { method: 'POST', headers: { host: 'evil.example.com', 'content-type': 'application/json', accept: ACCEPT }, body: JSON.stringify(initialize) });
    expect(host.statusCode).toBe(403);
    expect(((await host.body.json()) as { error: { message: string } }).error.message).toContain('mcp.allowedHosts');
    const local = await post(endpoint, call(1, 'shout', { text: 'ok' }), { origin: `http://localhost:${new URL(endpoint).port}` });
    expect(local.status).toBe(200);
  });

  it('accepts origins and hosts on the allow-list, and can be turned off', async () => {
    const allowed = await serve({ mcp: { allowedOrigins: ['https://app.example.com'] } });
    expect((await post(allowed.endpoint, call(1, 'shout', { text: 'x' }), { origin: 'https://app.example.com' })).status).toBe(200);
    expect((await post(allowed.endpoint, call(1, 'shout', { text: 'x' }), { origin: 'https://other.example.com' })).status).toBe(403);
    const off = await serve({ mcp: { dnsRebindingProtection: false } });
    expect((await post(off.endpoint, call(1, 'shout', { text: 'x' }), { origin: 'http://evil.example.com' })).status).toBe(200);
  });
});

it('keeps the service\'s headers (CORS, request id) on streamed replies', async () => {
  const origin = 'https://app.example.com';
  const { endpoint } = await serve({ cors: { origin, exposedHeaders: ['Mcp-Session-Id'] }, mcp: { allowedOrigins: [origin] } });
  const streamed = await post(endpoint, call(1, 'wait', { ms: 3 }, { progressToken: 'c' }), { origin });
  expect(streamed.headers.get('content-type')).toBe('text/event-stream');
  expect(streamed.headers.get('access-control-allow-origin')).toBe(origin);
  expect(streamed.headers.get('x-request-id')).toBeTruthy();
  await streamed.text();
  const opened = await post(endpoint, initialize, { origin });
  expect(opened.headers.get('access-control-allow-origin')).toBe(origin);
  expect(opened.headers.get('access-control-expose-headers')).toContain('Mcp-Session-Id');
  expect(opened.headers.get('mcp-session-id')).toBeTruthy();
  await opened.text();
});

describe('admin tools', () => {
  it('run only for admin callers, as admin endpoints do', async () => {
    const { service, endpoint } = await serve({ adminToken: 'sesame' });
    await post(endpoint, call(1, 'notes.add', { title: 'keep me' }));
    // Through a proxy the loopback exception does not apply: the token is needed.
    const refused = await json(await post(endpoint, call(2, 'wipe', {}), { 'x-forwarded-for': '203.0.113.9' }));
    expect(refused.result.isError).toBe(true);
    expect(refused.result.content[0].text).toContain('admin tool');
    expect(service.notes.size).toBe(1);
    const allowed = await json(await post(endpoint, call(3, 'wipe', {}), { 'x-forwarded-for': '203.0.113.9', authorization: 'Bearer sesame' }));
    expect(allowed.result.structuredContent).toEqual({ wiped: 1 });
  });
});

it('stops promptly with open GET streams and listen streams', async () => {
  const { service, endpoint } = await serve();
  const base = endpoint.replace(/\/mcp-server\/mcp$/, '');
  const legacy = await eraClient(base, '2025-11-25');
  const modern = await eraClient(base, '2026-07-28');
  await modern.listen({ toolsListChanged: true });
  await eventually(() => (service.mcp.sessionStreams > 0 ? true : undefined), 5_000, 'the GET stream');
  await service.stop();
  expect(service.status).toBe('Down');
  await Promise.all([legacy.close(), modern.close()]);
});
