// MCP requests that reach a stopping service on connections it already had: new sessions and
// requests are refused with a JSON-RPC error (503), what winds down work under way is taken, and
// calls already in progress finish.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ServiceOptions } from '../index.ts';
import { isDown } from '../client/liveness.ts';
import { GateService as BaseGateService } from '../../test/fixtures/gate.service.ts';
import { waitFor } from '../../test/helpers/processes.ts';
import { ERAS, eraClient } from './fixtures/clients.ts';
import { mcpPath } from '../config.ts';

/** The gate service, with a tool of its own besides. */
class GateService extends BaseGateService {
  constructor(options: ServiceOptions) {
    super(options);
    this.addTool('shout', ({ text }) => text.toUpperCase(), { input: z.object({ text: z.string() }), output: z.string() });
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
});

async function startGateService(): Promise<GateService> {
  const service = new GateService({ host: '127.0.0.1', port: 0, logger: false });
  await service.start();
  stops.push(async () => {
    service.open();
    await service.stop();
  });
  return service;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** The responses of one HTTP/1.1 connection, in order; one without Content-Length (a stream) takes the rest. */
function parseResponses(raw: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.includes('\r\n\r\n')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const end = headers['content-length'] === undefined ? rest.length : headEnd + 4 + Number(headers['content-length']);
    const text = rest.slice(headEnd + 4, end);
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: text.startsWith('{') ? JSON.parse(text) : text || undefined });
    rest = rest.slice(end);
  }
  return responses;
}

function mcpRequest(method: 'GET' | 'POST' | 'DELETE', body?: unknown, headers: Record<string, string> = {}): string {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const head = { host: 'localhost', accept: 'application/json, text/event-stream', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
  const lines = Object.entries(head).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${mcpPath()} HTTP/1.1\r\n${lines.join('')}content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
}

/**
 * Send each of `requests` on a connection of its own that already carries a `gate` call in
 * progress, once the service is closing (its listener refuses new connections), and return what
 * each connection got after that call's reply. The calls in progress keep the connections busy,
 * so no idle-connection sweep can close them first; the gate opens only once the server has taken
 * every request, and `settled` holds.
 */
async function askWhileClosing(service: GateService, requests: string[], settled: () => boolean = () => true): Promise<RawResponse[]> {
  const port = Number(new URL(service.url).port);
  const connections = requests.map(() => {
    const socket: Socket = connect(port, '127.0.0.1');
    const received = { raw: '' };
    socket.setEncoding('utf8').on('data', (chunk: string) => (received.raw += chunk));
    const closed = once(socket, 'close');
    socket.write('POST /gate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
    return { socket, received, closed };
  });
  const before = service.calls;
  await waitFor(() => service.calls === before + requests.length, 10_000, 'the calls to be in progress');
  void service.stop();
  await waitFor(() => isDown(service.url, undefined, { timeout: 5_000 }), 10_000, 'the listener to close');
  let taken = 0;
  const server = service.app!.server;
  const count = (): void => void (taken += 1);
  server.on('request', count);
  requests.forEach((request, i) => connections[i]!.socket.write(request));
  await waitFor(() => taken === requests.length && settled(), 10_000, 'the server to take every request, and the test to see what it waits for');
  server.off('request', count);
  service.open();
  await Promise.all(connections.map((c) => c.closed));
  return connections.map((c) => {
    const [first, second] = parseResponses(c.received.raw);
    expect(first).toMatchObject({ status: 200, body: { passed: true } });
    return second!;
  });
}

const refusal = (id: string | number | null) => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32000, message: 'GateService is Stopping and takes no new MCP sessions or requests; retry on another instance of it, or once it is back.', data: { code: 'TASKMESH_STOPPING' } },
});

const initialize = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const call = (id: number, name: string, args: object, meta?: object) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
const modernMeta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };

describe('MCP requests that reach a stopping service on a connection it already had', () => {
  it('refuses new sessions and new requests of every era with 503 and a JSON-RPC error that says to retry elsewhere or later', async () => {
    const service = await startGateService();
    // A 2025-era session opened while the service was Available.
    const client = await eraClient(service.url, '2025-11-25');
    const sessionId = (client.transport as { sessionId?: string }).sessionId!;
    const inSession = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const replies = await askWhileClosing(service, [
      mcpRequest('POST', initialize),
      mcpRequest('POST', call(1, 'shout', { text: 'no session' }), { 'mcp-protocol-version': '2025-11-25' }),
      mcpRequest('POST', call(2, 'gate', {}), inSession),
      mcpRequest('POST', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, inSession),
      mcpRequest('POST', call(4, 'shout', { text: 'modern' }, modernMeta), { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'shout' }),
      mcpRequest('POST', [{ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 5, method: 'ping' }]),
      mcpRequest('GET', undefined, inSession),
    ]);
    expect(replies.map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 503, 503]);
    expect(replies.map((r) => r.body)).toEqual([refusal('init'), refusal(1), refusal(2), refusal(3), refusal(4), refusal(null), refusal(null)]);
    expect(replies[0]!.headers).toMatchObject({ 'content-type': expect.stringContaining('application/json'), 'x-request-id': expect.any(String) });
    // No session was opened or rebuilt while stopping.
    expect(replies[0]!.headers['mcp-session-id']).toBeUndefined();
    expect(service.mcp.sessionCount).toBe(0);
    await client.close();
  });

  it('passes a cancellation on to a session call still in progress', async () => {
    const service = await startGateService();
    const client = await eraClient(service.url, '2025-11-25');
    const sessionId = (client.transport as { sessionId?: string }).sessionId!;
    const inSession = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const held = connect(Number(new URL(service.url).port), '127.0.0.1');
    stops.push(async () => void held.destroy());
    held.write(mcpRequest('POST', call(7, 'gate', {}), inSession));
    await waitFor(() => service.calls === 1, 10_000, 'the tool call to be in progress');
    const [reply] = await askWhileClosing(
      service,
      [mcpRequest('POST', { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'no longer needed' } }, inSession)],
      () => service.cancelled === 1,
    );
    expect(reply).toMatchObject({ status: 202 });
    expect(service.cancelled).toBe(1);
    await client.close();
  });

  it('once the runtime has closed, takes notifications, responses and the end of a session without serving them', async () => {
    const service = await startGateService();
    const client = await eraClient(service.url, '2025-11-25');
    const sessionId = (client.transport as { sessionId?: string }).sessionId!;
    const inSession = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const replies = await askWhileClosing(service, [
      mcpRequest('POST', { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } }, inSession),
      mcpRequest('POST', { jsonrpc: '2.0', id: 'server-1', result: {} }, inSession),
      mcpRequest('DELETE', undefined, inSession),
    ]);
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [202, undefined],
      [202, undefined],
      [200, undefined],
    ]);
    expect(service.mcp.sessionCount).toBe(0);
    await client.close();
  });
});

describe('MCP calls in progress when the service begins to stop', () => {
  it.each(ERAS)('finish with their result (%s)', async (era) => {
    const service = await startGateService();
    const client = await eraClient(service.url, era);
    const inFlight = client.callTool({ name: 'gate', arguments: {} });
    await waitFor(() => service.calls === 1, 10_000, 'the call to be in progress');
    const stopping = service.stop();
    await waitFor(() => isDown(service.url, undefined, { timeout: 5_000 }), 10_000, 'the listener to close');
    service.open();
    expect(await inFlight).toMatchObject({ structuredContent: { passed: true } });
    await stopping;
    await client.close();
  });
});
