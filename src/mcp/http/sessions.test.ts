// The limit on 2025-era sessions held in one process (mcp.maxSessions), with clients that hold
// GET streams open as connected clients do.
import { get as httpGet, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotesService } from '../fixtures/notes.service.ts';
import { mcpUrl } from '../../config.ts';

const ACCEPT = 'application/json, text/event-stream';
const VERSION = '2025-11-25';

let service: NotesService;
let endpoint: string;
const requests: ClientRequest[] = [];

beforeAll(async () => {
  service = new NotesService({ host: '127.0.0.1', port: 0, logger: false, mcp: { maxSessions: 2 } });
  endpoint = mcpUrl(await service.start());
});
afterAll(async () => {
  for (const request of requests) request.destroy();
  await service.stop();
});

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body: JSON.stringify(body) });
}

/** A new session, with its GET stream open: the session's headers, and whether that stream has ended. */
async function sessionWithStream(): Promise<{ headers: Record<string, string>; ended: () => Promise<boolean> }> {
  const opened = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await opened.text();
  const headers = { 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': VERSION };
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  // node:http: its response comes once the stream is open (the server sends its head at once, not
  // with a first event), and it ends as soon as the server ends the stream.
  let ending!: Promise<true>;
  await new Promise<void>((answered, reject) => {
    const get = httpGet(endpoint, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      expect(response.statusCode).toBe(200);
      response.resume();
      ending = new Promise((resolve) => response.once('close', () => resolve(true)));
      answered();
    });
    get.once('error', reject);
    requests.push(get);
  });
  // Ended, or still open a moment later.
  const ended = () => Promise.race([ending, new Promise<false>((resolve) => setTimeout(() => resolve(false), 200))]);
  return { headers, ended };
}

describe('mcp.maxSessions', () => {
  it('holds no more sessions than the limit, even when every one holds a stream: the one quiet longest goes, and its client can come back', async () => {
    const first = await sessionWithStream();
    const second = await sessionWithStream();
    expect(await first.ended()).toBe(false);
    expect(service.mcp.sessionStreams).toBe(2);

    const third = await sessionWithStream();
    expect(await first.ended()).toBe(true);
    expect(await second.ended()).toBe(false);
    expect(await third.ended()).toBe(false);
    expect(service.mcp.sessionStreams).toBe(2);

    // The first client's session is made again from its id, at the cost of the one quiet longest now.
    const listed = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, first.headers);
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('"tools"');
    expect(await second.ended()).toBe(true);
    expect(await third.ended()).toBe(false);
  });
});
