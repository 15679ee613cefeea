// A 2025-era session's requests answered on the Node response (./session-transport.ts) and its
// plain tool calls served without the session's server (./session-call.ts): the same answers as
// the SDK transport and server give (a batch of one still goes through them), the session's log
// level, resumption of a stream closed mid-call, cancellation, and the handler's HTTP request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eraClient, eventually, messagesOf } from '../fixtures/clients.ts';
import { NotesService } from '../fixtures/notes.service.ts';
import { mcpUrl } from '../../config.ts';

const ACCEPT = 'application/json, text/event-stream';

/** The notes service with tools that use what a session gives a handler. */
class SessionToolsService extends NotesService {
  readonly gates = new Map<string, () => void>();
  readonly abortReasons: unknown[] = [];
  holding = 0;

  constructor() {
    super({ host: '127.0.0.1', port: 0, logger: false });
    this.addTool(
      'chatty',
      async ({ gate }, context) => {
        await context.mcp.mcpReq.log('info', 'an info line');
        await context.mcp.mcpReq.log('error', 'an error line');
        if (gate) {
          context.mcp.http?.closeSSE?.();
          await new Promise<void>((resolve) => this.gates.set(gate, resolve));
          await context.mcp.mcpReq.log('error', 'after the gate');
        }
        return 'said it';
      },
      { description: 'Log twice; with a gate, end the stream early and wait for the test.', input: z.object({ gate: z.string().optional() }) },
    );
    this.addTool(
      'hold',
      async (_input, context) => {
        this.holding++;
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        this.abortReasons.push(context.signal.reason);
        return 'released';
      },
      { description: 'Wait until cancelled.' },
    );
    this.addTool('probe', (_input, context) => context.mcp.http?.req?.headers.get('x-probe') ?? 'no request', { description: 'Read a header of the HTTP request.' });
  }
}

let service: SessionToolsService;
let serviceUrl: string;
let endpoint: string;

beforeAll(async () => {
  service = new SessionToolsService();
  serviceUrl = await service.start();
  endpoint = mcpUrl(serviceUrl);
});
afterAll(() => service.stop());

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body: JSON.stringify(body) });
}

async function openSession(version = '2025-11-25'): Promise<Record<string, string>> {
  const opened = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await opened.text();
  const headers = { 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': version };
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  return headers;
}

const call = (id: number, name: string, args: object = {}, meta?: object) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });

/** An SSE body without its event ids, which count on through the session. */
const withoutIds = (text: string): string => text.replace(/^id: \d+$/gm, 'id: N');

describe('a request in a session, answered on the Node response', () => {
  it.each([
    ['a plain tools/call', call(3, 'shout', { text: 'hi' })],
    ['a call of an unknown tool', call(3, 'nothing-here')],
    ['a call with bad arguments', call(3, 'shout', { text: 42 })],
    ['a call that fails', call(3, 'explode')],
    ['tools/list', { jsonrpc: '2.0', id: 3, method: 'tools/list' }],
  ])('%s: the same SSE answer as the SDK transport gives', async (_what, message) => {
    for (const version of ['2025-11-25', '2025-06-18']) {
      const headers = await openSession(version);
      const direct = await post(message, headers);
      const viaSdk = await post([message], headers);
      for (const name of ['content-type', 'cache-control', 'mcp-session-id']) expect(direct.headers.get(name), name).toBe(viaSdk.headers.get(name));
      expect(direct.status).toBe(viaSdk.status);
      expect(withoutIds(await direct.text())).toBe(withoutIds(await viaSdk.text()));
    }
  });

  it('streams progress, then the answer, for a call with a progress token (served by the server)', async () => {
    const headers = await openSession();
    const messages = messagesOf(await (await post(call(3, 'wait', { ms: 30 }, { progressToken: 'p' }), headers)).text());
    expect(messages.map((m) => m.params?.progress ?? m.result.content[0].text)).toEqual([1, 2, 3, 'waited']);
  });

  it('acknowledges a notification and a client\'s answer with 202, and ends a session on DELETE, as the SDK transport does', async () => {
    const headers = await openSession();
    for (const message of [
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      { jsonrpc: '2.0', id: 99, result: {} },
    ]) {
      const [direct, viaSdk] = [await post(message, headers), await post([message], headers)];
      expect([direct.status, await direct.text(), direct.headers.get('content-type')]).toEqual([viaSdk.status, await viaSdk.text(), viaSdk.headers.get('content-type')]);
      expect(direct.status).toBe(202);
    }
    const refused = await fetch(endpoint, { method: 'DELETE', headers: { ...headers, 'mcp-protocol-version': '1999-01-01' } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('Unsupported protocol version');
    const sessions = service.mcp.sessionCount;
    const ended = await fetch(endpoint, { method: 'DELETE', headers });
    expect([ended.status, await ended.text()]).toEqual([200, '']);
    expect(service.mcp.sessionCount).toBe(sessions - 1);
    expect((await post(call(12, 'shout', { text: 'x' }), headers)).status).toBe(404);
  });

  it('keeps the log level the client set, for calls served directly as through the server', async () => {
    const headers = await openSession();
    const both = async () => [messagesOf(await (await post(call(4, 'chatty'), headers)).text()), messagesOf(await (await post([call(4, 'chatty')], headers)).text())];
    for (const messages of await both()) expect(messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.level)).toEqual(['info', 'error']);
    expect((await post({ jsonrpc: '2.0', id: 5, method: 'logging/setLevel', params: { level: 'warning' } }, headers)).status).toBe(200);
    for (const messages of await both()) {
      expect(messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.data)).toEqual(['an error line']);
      expect(messages.at(-1).result.content).toEqual([{ type: 'text', text: 'said it' }]);
    }
  });

  it('resumes a stream that the handler ended early, with Last-Event-ID, while the call runs', async () => {
    const headers = await openSession();
    const first = await post(call(6, 'chatty', { gate: 'resume' }), headers);
    const before = await first.text();
    const lastId = [...before.matchAll(/^id: (\d+)$/gm)].at(-1)![1];
    expect(messagesOf(before).map((m) => m.params?.data)).toEqual(['an info line', 'an error line']);
    expect(before).toContain('retry: 1000');

    const resumed = await fetch(endpoint, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastId! } });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toBe('text/event-stream');
    const again = await fetch(endpoint, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastId! } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('Conflict');

    service.gates.get('resume')!();
    const after = messagesOf(await resumed.text());
    expect(after.map((m) => m.params?.data ?? m.result?.content[0].text)).toEqual(['after the gate', 'said it']);
    expect(after.at(-1).id).toBe(6);
  });

  it('replays a finished call\'s answer to a client that resumes its stream with Last-Event-ID', async () => {
    const headers = await openSession();
    const answered = await (await post(call(11, 'shout', { text: 'kept' }), headers)).text();
    const primingId = /^id: (\d+)\nretry:/m.exec(answered)![1]!;
    const replayed = await fetch(endpoint, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': primingId } });
    expect(replayed.status).toBe(200);
    expect(messagesOf(await replayed.text())).toEqual(messagesOf(answered));
  });

  it('lets the official client resume a stream ended early, on its own', async () => {
    const client = await eraClient(serviceUrl, '2025-11-25');
    try {
      const result = client.callTool({ name: 'chatty', arguments: { gate: 'client' } });
      (await eventually(() => service.gates.get('client'), 5_000, 'the call to wait at its gate'))();
      expect((await result).content).toEqual([{ type: 'text', text: 'said it' }]);
    } finally {
      await client.close();
    }
  });

  it('aborts a call served directly when the client cancels it, and answers it as cancelled', async () => {
    const headers = await openSession();
    const held = post(call(8, 'hold'), headers);
    await eventually(() => (service.holding > 0 ? true : undefined), 5_000, 'the call to start');
    const cancelled = await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8, reason: 'the user gave up' } }, headers);
    expect(cancelled.status).toBe(202);
    const messages = messagesOf(await (await held).text());
    expect(messages.at(-1)).toMatchObject({ id: 8, error: { code: -32000, data: { code: 'TASKMESH_ABORTED' } } });
    expect(service.abortReasons).toEqual(['the user gave up']);
  });

  it('aborts a call served directly when its session ends', async () => {
    const headers = await openSession();
    const [holding, aborted] = [service.holding, service.abortReasons.length];
    const held = post(call(10, 'hold'), headers);
    await eventually(() => (service.holding > holding ? true : undefined), 5_000, 'the call to start');
    const ended = await fetch(endpoint, { method: 'DELETE', headers });
    expect(ended.status).toBe(200);
    await (await held).text();
    await eventually(() => (service.abortReasons.length > aborted ? true : undefined), 5_000, 'the handler to be aborted');
    expect(String(service.abortReasons.at(-1))).toContain('Connection closed');
  });

  it.each(['2025-06-18', '2025-11-25'])('gives the handler its HTTP request as a web Request (%s)', async (version) => {
    const headers = await openSession(version);
    const messages = messagesOf(await (await post(call(9, 'probe'), { ...headers, 'x-probe': 'seen' })).text());
    expect(messages.at(-1).result.content).toEqual([{ type: 'text', text: 'seen' }]);
  });
});
