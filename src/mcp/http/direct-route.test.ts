// The MCP endpoint on the direct path: which requests it answers beside Fastify, and that each
// gets the answer and log line the Fastify route gives (the same service class, customised so
// that every request goes through Fastify, answers the same requests alongside).
import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logCapture } from '../../../test/helpers/log-capture.ts';
import { serveForEachTest } from '../../../test/helpers/services.ts';
import type { ServiceOptions } from '../../index.ts';
import { answersDirectly } from '../../service/direct-calls.ts';
import { NotesService } from '../fixtures/notes.service.ts';
import { mcpPath } from '../../config.ts';
import { McpHttpRuntime } from './runtime.ts';

/** The same service (by name too) with its app customised (a no-op): every request goes through Fastify. */
const ThroughFastify = {
  NotesService: class extends NotesService {
    protected override async configureApp(): Promise<void> {}
  },
}.NotesService;

const serve = serveForEachTest();
const direct = vi.spyOn(McpHttpRuntime.prototype, 'answerDirectly');
const viaFastify = vi.spyOn(McpHttpRuntime.prototype, 'handle');
afterEach(() => {
  direct.mockClear();
  viaFastify.mockClear();
});

const ACCEPT = 'application/json, text/event-stream';
const JSON_HEADERS = { 'content-type': 'application/json', accept: ACCEPT };

interface Sent {
  body: string;
  headers?: Record<string, string>;
  /** Send it in a 2025-era session of this protocol version, opened first. */
  session?: string;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  /** How the body is framed: its length, or chunked. */
  framing: string | undefined;
  requestIdHeader: boolean;
  body: string;
}

function rpc(method: string, params?: unknown, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
}

/** A service whose MCP runtime has loaded (the direct route waits for it), and its MCP URL. */
async function ready(service: NotesService): Promise<string> {
  await serve(service);
  const url = `${service.url}${mcpPath()}`;
  // Any answered MCP request means the runtime is loaded: it loads before the first is served.
  await ask(url, { body: rpc('ping') });
  return url;
}

/** The same request to a service on the direct path and to one customised (through Fastify), counting only these two requests' paths. */
async function askBoth(sent: Sent, make: (options: ServiceOptions) => NotesService = (o) => new NotesService(o)): Promise<[Answer, Answer]> {
  const urls = [await ready(make(options)), await ready(new ThroughFastify(options))];
  const sessions = await Promise.all(urls.map((url) => (sent.session ? openSession(url, sent.session) : {})));
  direct.mockClear();
  viaFastify.mockClear();
  const [a, b] = urls.map((url, i) => ({ ...sent, headers: { ...(sent.headers ?? JSON_HEADERS), ...sessions[i] } }));
  return [await ask(urls[0]!, a!), await ask(urls[1]!, b!)];
}

/** Open a 2025-era session (initialize, then initialized); the headers of its requests. */
async function openSession(url: string, version: string): Promise<Record<string, string>> {
  const opened = await request(url, { method: 'POST', headers: JSON_HEADERS, body: rpc('initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 't', version: '1' } }, 0) });
  await opened.body.text();
  const headers = { 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': version };
  const initialized = await request(url, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await initialized.body.text();
  return headers;
}

async function ask(url: string, sent: Sent): Promise<Answer> {
  const res = await request(url, { method: 'POST', headers: sent.headers ?? JSON_HEADERS, body: sent.body });
  const body = await res.body.text();
  const framing = res.headers['transfer-encoding'] ? 'chunked' : (res.headers['content-length'] as string | undefined);
  return { status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, framing, requestIdHeader: typeof res.headers['x-request-id'] === 'string', body };
}

const options: ServiceOptions = { host: '127.0.0.1', port: 0, logger: false };
const modernEnvelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe('answered beside Fastify, as the Fastify route answers', () => {
  const cases: [string, Sent][] = [
    ['a tools/call', { body: rpc('tools/call', { name: 'notes.add', arguments: { title: 'a' } }) }],
    ['a tools/call with a string id and a protocol version header', { body: rpc('tools/call', { name: 'shout', arguments: { text: 'hi' } }, 'call-1'), headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-11-25' } }],
    ['a tools/call with arguments that break the schema', { body: rpc('tools/call', { name: 'notes.add', arguments: { title: '' } }) }],
    ['a tool that throws', { body: rpc('tools/call', { name: 'explode' }) }],
    ['no such tool', { body: rpc('tools/call', { name: 'nope' }) }],
    ['a tool that logs to the client (an SSE answer)', { body: rpc('tools/call', { name: 'announce', arguments: { text: 'hello' } }) }],
    ['a tools/call with a progress token (served by the SDK server)', { body: rpc('tools/call', { name: 'wait', arguments: { ms: 0 }, _meta: { progressToken: 'p' } }) }],
    ['an admin tool, from loopback', { body: rpc('tools/call', { name: 'wipe' }) }],
    ['an admin tool, through a proxy', { body: rpc('tools/call', { name: 'wipe' }), headers: { ...JSON_HEADERS, 'x-forwarded-for': '203.0.113.9' } }],
    ['a listing', { body: rpc('tools/list') }],
    ['a resource read', { body: rpc('resources/read', { uri: 'notes://index' }) }],
    ['a tools/call in a session (an SSE answer with a priming event)', { body: rpc('tools/call', { name: 'shout', arguments: { text: 'hi' } }), session: '2025-11-25' }],
    ['a tools/call in a 2025-06-18 session', { body: rpc('tools/call', { name: 'notes.add', arguments: { title: 'a' } }), session: '2025-06-18' }],
    ['a tool that logs, in a session', { body: rpc('tools/call', { name: 'announce', arguments: { text: 'hello' } }), session: '2025-11-25' }],
    ['a listing in a session (served by the session server)', { body: rpc('tools/list'), session: '2025-11-25' }],
  ];

  it.each(cases)('%s', async (_what, sent) => {
    const [a, b] = await askBoth(sent);
    expect(direct).toHaveBeenCalledTimes(1);
    expect(viaFastify).toHaveBeenCalledTimes(1);
    expect(a).toEqual(b);
    expect(a.requestIdHeader).toBe(true);
  });
});

describe('handed to Fastify, which answers as ever', () => {
  const cases: [string, Sent, number][] = [
    ['initialize (a session opens)', { body: rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } }) }, 200],
    ['a notification', { body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }, 202],
    ['a batch', { body: `[${rpc('tools/list')}]` }, 200],
    [
      'a 2026-07-28 tools/call',
      {
        body: rpc('tools/call', { name: 'shout', arguments: { text: 'hi' }, _meta: modernEnvelope }),
        headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'shout' },
      },
      200,
    ],
    ['a body that is not JSON', { body: '{"jsonrpc":' }, 400],
    ['a body that poisons the prototype', { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","__proto__":{"x":1}}' }, 400],
    ['an empty body', { body: '' }, 400],
    ['an Accept without SSE', { body: rpc('tools/list'), headers: { 'content-type': 'application/json', accept: 'application/json' } }, 406],
    ['an unknown protocol version header', { body: rpc('tools/list'), headers: { ...JSON_HEADERS, 'mcp-protocol-version': '1999-01-01' } }, 400],
    ['a Host the DNS rebinding guard refuses', { body: rpc('tools/list'), headers: { ...JSON_HEADERS, host: 'evil.example' } }, 403],
    ['a text body', { body: rpc('tools/list'), headers: { 'content-type': 'text/plain', accept: ACCEPT } }, 415],
    ['an unknown session', { body: rpc('tools/list'), headers: { ...JSON_HEADERS, 'mcp-session-id': 'no-such-session' } }, 404],
    ['a batch in a session', { body: `[${rpc('tools/list')}]`, session: '2025-11-25' }, 200],
    ['a notification in a session', { body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), session: '2025-11-25' }, 202],
  ];

  it.each(cases)('%s', async (_what, sent, status) => {
    const [a, b] = await askBoth(sent);
    expect(direct).not.toHaveBeenCalled();
    expect(a.status).toBe(status);
    // A session's answer names its session; the rest must be equal.
    expect({ ...a, body: a.body.replace(/"sessionId":"[^"]+"/, '') }).toEqual({ ...b, body: b.body.replace(/"sessionId":"[^"]+"/, '') });
  });

  it('a call whose body was still coming when the service began to stop: refused as stopping', async () => {
    const service = new NotesService(options);
    await ready(service);
    expect(answersDirectly(service.app!.server)).toBe(true);
    direct.mockClear();
    const body = rpc('tools/call', { name: 'shout', arguments: { text: 'late' } });
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk));
    socket.write(`POST ${mcpPath()} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: ${ACCEPT}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    // The request is under way (its connection is not idle, so stopping leaves it open) when stop() begins.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = service.stop();
    socket.end(body.slice(10));
    await once(socket, 'close');
    await stopped;
    expect(direct).not.toHaveBeenCalled();
    expect(reply).toMatch(/^HTTP\/1.1 503/);
    expect(reply).toContain('"code":"TASKMESH_STOPPING"');
  });
});

describe('the request line', () => {
  it('is the Fastify path\'s, for an answer, a stream and a request handed on, with the caller\'s request id', async () => {
    const lines = async (make: (options: ServiceOptions) => NotesService) => {
      const logs = logCapture();
      const url = await ready(make({ host: '127.0.0.1', port: 0, logger: { level: 'info', stream: logs.stream } }));
      direct.mockClear();
      const sent: [string, string][] = [
        ['trace-1', rpc('tools/call', { name: 'shout', arguments: { text: 'hi' } })],
        ['trace-2', rpc('tools/call', { name: 'announce', arguments: { text: 'hello' } })],
        ['trace-3', '{"jsonrpc":'],
      ];
      for (const [id, body] of sent) await ask(url, { body, headers: { ...JSON_HEADERS, 'x-request-id': id } });
      const session = await openSession(url, '2025-11-25');
      await ask(url, { body: rpc('tools/call', { name: 'shout', arguments: { text: 'hi' } }), headers: { ...JSON_HEADERS, ...session, 'x-request-id': 'trace-4' } });
      return logs.lines
        .filter((line) => String(line.requestId).startsWith('trace-'))
        .map(({ time: _time, pid: _pid, durationMs, ...line }): Record<string, unknown> => ({ ...line, durationMs: typeof durationMs }));
    };
    const directLines = await lines((o) => new NotesService(o));
    expect(direct).toHaveBeenCalledTimes(3);
    const fastifyLines = await lines((o) => new ThroughFastify(o));
    expect(directLines).toEqual(fastifyLines);
    expect(directLines.map((line) => [line.requestId, line.status])).toEqual([
      ['trace-1', 200],
      ['trace-2', 200],
      ['trace-3', 400],
      ['trace-4', 200],
    ]);
  });
});
