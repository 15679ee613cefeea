// The direct path of the 2026-07-28 `tools/call` answers exactly what the SDK's createMcpHandler
// answers. Each call is sent twice over real HTTP: plainly, which the direct path serves, and
// with its Mcp-Name header in the SDK's base64 form, which only the SDK decodes, so the SDK serves
// it; the two answers must be equal byte for byte. A spy that calls through tells which path served.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceOptions } from '../../index.ts';
import { waitFor } from '../../../test/helpers/processes.ts';
import { eraClient } from '../fixtures/clients.ts';
import { NotesService } from '../fixtures/notes.service.ts';
import { mcpUrl } from '../../config.ts';
import { DIRECT_REVISION, ModernCallServing } from './modern-call.ts';

/** The notes service, with tools whose answers this path hands to the SDK or streams. */
class Probe extends NotesService {
  constructor(options: ServiceOptions) {
    super(options);
    this.addTool('picture', () => ({ content: [{ type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }] }), { description: 'An image block.' });
    this.addTool('ask', async (_input, context) => {
      await context.mcp.mcpReq.elicitInput({ message: 'sure?', requestedSchema: { type: 'object', properties: {} } });
      return 'asked';
    });
    this.addTool('roots', async (_input, context) => {
      await context.mcp.mcpReq.send({ method: 'roots/list' });
      return 'rooted';
    });
    this.addTool('tick', async (_input, context) => {
      await context.mcp.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data: 'tick' } });
      return 'ticked';
    });
    this.addTool('header', (_input, context) => `x-probe: ${context.mcp.http?.req?.headers.get('x-probe') ?? 'none'}`);
    this.addTool('quiet-log', async (_input, context) => {
      await context.mcp.mcpReq.log('info', 'unheard');
      return 'logged';
    });
  }
}

let service: Probe;
let url: string;
const direct = vi.spyOn(ModernCallServing.prototype, 'handle');
const clients: Client[] = [];

beforeAll(async () => {
  service = new Probe({ host: '127.0.0.1', port: 0, logger: false });
  url = mcpUrl(await service.start());
});
afterAll(() => service.stop());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const envelope = {
  'io.modelcontextprotocol/protocolVersion': DIRECT_REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface Sending {
  sdk: boolean;
  headers?: Record<string, string>;
  /** Envelope keys to change (undefined leaves one out). */
  meta?: Record<string, unknown>;
  to?: string;
  signal?: AbortSignal;
}

function post(name: string, args: unknown, options: Sending): Promise<Response> {
  const params = { name, ...(args === undefined ? {} : { arguments: args }), _meta: { ...envelope, ...options.meta } };
  return fetch(options.to ?? url, {
    method: 'POST',
    ...(options.signal ? { signal: options.signal } : {}),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': DIRECT_REVISION,
      'mcp-method': 'tools/call',
      'mcp-name': options.sdk ? `=?base64?${Buffer.from(name).toString('base64')}?=` : name,
      ...options.headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params }),
  });
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a client reads of an answer: status, the headers that matter, and the exact body. */
async function answer(response: Response): Promise<Answer> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    if (['content-type', 'cache-control', 'connection', 'x-accel-buffering'].includes(key) || key.startsWith('mcp-')) headers[key] = value;
  });
  return { status: response.status, headers, body: await response.text() };
}

/** The call answered by the direct path and by the SDK, checking each went where it should. */
async function bothPaths(name: string, args: unknown, headers: Record<string, string> = {}, meta: Record<string, unknown> = {}): Promise<{ direct: Answer; sdk: Answer }> {
  direct.mockClear();
  const viaDirect = await answer(await post(name, args, { sdk: false, headers, meta }));
  expect(direct, 'the plain call takes the direct path').toHaveBeenCalledTimes(1);
  const viaSdk = await answer(await post(name, args, { sdk: true, headers, meta }));
  expect(direct, 'the encoded call goes to the SDK').toHaveBeenCalledTimes(1);
  return { direct: viaDirect, sdk: viaSdk };
}

describe('a 2026-07-28 tools/call on the direct path', () => {
  it.each([
    ['structured content', 'whoami', {}, '"structuredContent":{"pid":'],
    ['structured content of a wrapped output, with no arguments', 'notes.count', undefined, '"structuredContent":{"result":0}'],
    ['text (a tool without an output schema)', 'header', {}, '"text":"x-probe: seen"'],
    ['a string output, wrapped', 'shout', { text: 'hi' }, '"structuredContent":{"result":"HI"}'],
    ['invalid arguments', 'shout', { text: 1 }, '"code":-32602'],
    ['an unknown tool', 'nope', {}, 'Unknown tool \\"nope\\"'],
    ['a failing handler', 'explode', {}, 'the notes caught fire'],
    ['a result the SDK encodes (an image block)', 'picture', {}, '"type":"image"'],
    ['an elicitation refused on this revision', 'ask', {}, 'Server-to-client requests are not available'],
    ['a server-to-client request refused on this revision', 'roots', {}, "Method 'roots/list' is not supported"],
    ['a log message without a log level in the envelope', 'quiet-log', {}, '"text":"logged"'],
  ])('answers %s as the SDK does', async (_case, name, args, expected) => {
    const { direct: viaDirect, sdk } = await bothPaths(name, args, { 'x-probe': 'seen' });
    expect(viaDirect).toEqual(sdk);
    expect(viaDirect.status).toBe(200);
    expect(viaDirect.headers['content-type']).toBe('application/json');
    expect(viaDirect.body).toContain(expected);
  });

  it('refuses an admin tool to a caller without the admin token, as the SDK does', async () => {
    const { direct: viaDirect, sdk } = await bothPaths('wipe', {}, { 'x-forwarded-for': '203.0.113.9' });
    expect(viaDirect).toEqual(sdk);
    expect(JSON.parse(viaDirect.body).result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('is an admin tool') }] });
  });

  it('streams a notification the handler sends, then the result, as the SDK does', async () => {
    const { direct: viaDirect, sdk } = await bothPaths('tick', {});
    expect(viaDirect).toEqual(sdk);
    expect(viaDirect.headers['content-type']).toBe('text/event-stream');
    expect(viaDirect.body).toMatch(/^event: message\ndata: .*"tick".*\n\nevent: message\ndata: .*"ticked".*\n\n$/);
  });

  it.each([
    ['declared client capabilities', { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, roots: { listChanged: true } } }],
    ['a client info with a title', { 'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1', title: 'Probe' } }],
    ['no client info', { 'io.modelcontextprotocol/clientInfo': undefined }],
  ])('answers a call with %s as the SDK does', async (_case, meta) => {
    const { direct: viaDirect, sdk } = await bothPaths('shout', { text: 'envelope' }, {}, meta);
    expect(viaDirect).toEqual(sdk);
    expect(viaDirect.body).toContain('"structuredContent":{"result":"ENVELOPE"}');
  });

  it.each([
    ['a client info that is no implementation', { 'io.modelcontextprotocol/clientInfo': { name: 1, version: '1' } }],
    ['client capabilities of the wrong shape', { 'io.modelcontextprotocol/clientCapabilities': { roots: 5 } }],
    ['no client capabilities', { 'io.modelcontextprotocol/clientCapabilities': undefined }],
  ])('leaves a call with %s to the SDK, which refuses its envelope', async (_case, meta) => {
    direct.mockClear();
    const refused = await answer(await post('shout', { text: 'x' }, { sdk: false, meta }));
    expect(direct).not.toHaveBeenCalled();
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ id: 7, error: { code: -32602, message: expect.stringContaining('_meta envelope') } });
  });

  it.each([
    ['a progress token', {}, { progressToken: 'p' }],
    ['a log level', {}, { 'io.modelcontextprotocol/logLevel': 'info' }],
    ['an Mcp-Method header naming another method', { 'mcp-method': 'tools/list' }, {}],
  ])('leaves a call with %s to the SDK', async (_case, headers, meta) => {
    direct.mockClear();
    await (await post('shout', { text: 'a' }, { sdk: false, headers, meta })).text();
    expect(direct).not.toHaveBeenCalled();
  });

  it('serves the official SDK client in the 2026-07-28 era', async () => {
    const client = await eraClient(service.url, '2026-07-28');
    clients.push(client);
    direct.mockClear();
    expect((await client.callTool({ name: 'shout', arguments: { text: 'end to end' } })).structuredContent).toEqual({ result: 'END TO END' });
    const failed = await client.callTool({ name: 'explode', arguments: {} });
    expect(failed).toMatchObject({ isError: true, content: [{ type: 'text', text: 'the notes caught fire' }] });
    await expect(client.callTool({ name: 'shout', arguments: { text: 2 } })).rejects.toThrow(/Invalid arguments for tool "shout"/);
    expect(direct).toHaveBeenCalledTimes(3);
  });
});

describe('a 2026-07-28 tools/call whose caller hangs up', () => {
  it('aborts the tool with the reason the SDK gives, on either path, and lets stop() return', { timeout: 20_000 }, async () => {
    const own = new Probe({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: 60_000 });
    const ownUrl = mcpUrl(await own.start());
    try {
      for (const sdk of [false, true]) {
        direct.mockClear();
        const caller = new AbortController();
        const call = post('wait', { ms: 3_000 }, { sdk, to: ownUrl, signal: caller.signal });
        await waitFor(() => own.waiting.length > (sdk ? 1 : 0) || undefined, 5_000, 'the tool to start');
        caller.abort();
        await expect(call).rejects.toThrow(/abort/i);
        await waitFor(() => own.aborted.length > (sdk ? 1 : 0) || undefined, 5_000, 'the tool to see its signal abort');
        expect(direct).toHaveBeenCalledTimes(sdk ? 0 : 1);
      }
      expect(own.aborted[0]).toBe(own.aborted[1]);
      expect(own.aborted[0]).toContain('Connection closed');
      await own.stop();
      expect(own.status).toBe('Down');
    } finally {
      await own.stop();
    }
  });
});
