// numWorkers: 2 — a 2025-era session whose requests land on both workers, its streams resumed in
// either worker, and list changes made in either worker reaching a 2025-era session and a
// 2026-07-28 listener alike.
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eraClient, eventually, messagesOf } from '../../src/mcp/fixtures/clients.ts';
import { NotesContract, NotesService } from '../../src/mcp/fixtures/notes.service.ts';
import { mcpUrl, type Client as TaskmeshClient } from '../../src/index.ts';
import { killGroup } from '../helpers/processes.ts';

let cm: TaskmeshClient<typeof NotesContract>;
let endpoint: string;
const clients: Client[] = [];

beforeAll(async () => {
  cm = await NotesService.launch({ host: '127.0.0.1', port: 0, numWorkers: 2, logger: false });
  endpoint = mcpUrl(cm.url);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await cm?.close().catch(() => {});
  if (cm?.pid) killGroup(cm.pid);
});

/** One MCP POST on a connection of its own, so that the cluster spreads them over the workers. */
async function rpc(body: object, headers: Record<string, string> = {}): Promise<{ status: number; session: string | undefined; message: any }> {
  const response = await request(endpoint, {
    method: 'POST',
    reset: true,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  const data = text.startsWith('{') || text === '' ? text : (text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).at(-1)?.slice(6) ?? '');
  const session = response.headers['mcp-session-id'];
  return { status: response.statusCode, session: typeof session === 'string' ? session : undefined, message: data ? JSON.parse(data) : undefined };
}

const tool = (id: number, name: string, args: object = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

it('serves one 2025-era session from both workers, without "session not found", until it is ended', { timeout: 60_000 }, async () => {
  const opened = await rpc({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'spread', version: '1' } } });
  expect(opened.status).toBe(200);
  const headers = { 'mcp-session-id': opened.session!, 'mcp-protocol-version': '2025-11-25' };
  expect((await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  const workers = new Set<number>();
  for (let i = 1; workers.size < 2 && i <= 40; i++) {
    const { status, message } = await rpc(tool(i, 'whoami'), headers);
    expect(status, JSON.stringify(message)).toBe(200);
    workers.add(message.result.structuredContent.pid);
  }
  expect(workers.size).toBe(2);
  expect(workers.has(cm.pid!)).toBe(false);

  // Ended in one worker, the session is refused by both, although both held it: the other worker
  // learns it through the primary, so allow for the message in flight, then expect only refusals.
  const ended = await request(endpoint, { method: 'DELETE', reset: true, headers });
  await ended.body.text();
  expect(ended.statusCode).toBe(200);
  let refusedInARow = 0;
  for (let i = 0; refusedInARow < 10; i++) {
    if (i === 100) throw new Error('the ended session is still served');
    const { status } = await rpc(tool(200 + i, 'whoami'), headers);
    refusedInARow = status === 404 ? refusedInARow + 1 : 0;
  }
});

it('tells a 2025-era session and a 2026-07-28 listener about changes made in either worker', { timeout: 60_000 }, async () => {
  const counts = { legacy: 0, modern: 0 };
  const legacy = await eraClient(cm.url, '2025-11-25');
  const modern = await eraClient(cm.url, '2026-07-28');
  clients.push(legacy, modern);
  legacy.setNotificationHandler('notifications/tools/list_changed', () => void counts.legacy++);
  modern.setNotificationHandler('notifications/tools/list_changed', () => void counts.modern++);
  await modern.listen({ toolsListChanged: true });
  // The legacy client opens its GET stream after the handshake: make changes until one reaches it,
  // then let the notifications in flight arrive before counting.
  for (let i = 0; counts.legacy === 0; i++) {
    if (i === 100) throw new Error('no list_changed reached the 2025-era session');
    await rpc(tool(50 + i, 'learn', { name: `warmup_${i}` }));
    await sleep(100);
  }
  let settled = JSON.stringify(counts);
  for (let same = 0; same < 3; ) {
    await sleep(100);
    same = JSON.stringify(counts) === settled ? same + 1 : 0;
    settled = JSON.stringify(counts);
  }
  // Now changes from each worker: every one must reach both clients, wherever their streams are.
  const before = { ...counts };
  const changers = new Set<string>();
  let learned = 0;
  for (let i = 0; changers.size < 2 && i < 40; i++) {
    const { message } = await rpc(tool(100 + i, 'learn', { name: `tool_${i}` }));
    changers.add(message.result.content[0].text);
    learned++;
  }
  expect(changers.size).toBe(2);
  await eventually(() => (counts.legacy - before.legacy === learned && counts.modern - before.modern === learned ? true : undefined), 30_000, `${learned} list_changed on each client`);
});

it('resumes a stream with Last-Event-ID in whichever worker the GET lands, while its call runs and after it ended', { timeout: 60_000 }, async () => {
  const opened = await rpc({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'resumer', version: '1' } } });
  const headers = { 'mcp-session-id': opened.session!, 'mcp-protocol-version': '2025-11-25' };
  expect((await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  const get = async (lastEventId: string) => {
    const response = await request(endpoint, { method: 'GET', reset: true, headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId } });
    return { status: response.statusCode, text: await response.body.text() };
  };
  // Each exchange is three connections, which the cluster hands to the workers in turn: over
  // several, GETs land both in the worker that runs the call and in the other one.
  const holders = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const posted = await request(endpoint, {
      method: 'POST',
      reset: true,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(tool(300 + i, 'breather', { ms: 300 })),
    });
    // The handler ends this stream early, before its answer.
    const before = await posted.body.text();
    const ids = [...before.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);
    const holder = Number(/before, in (\d+)/.exec(before)?.[1]);
    holders.add(holder);
    expect(messagesOf(before).map((m) => m.params.data)).toEqual([`before, in ${holder}`]);

    const resumed = await get(ids.at(-1)!);
    expect(resumed.status, resumed.text).toBe(200);
    const after = messagesOf(resumed.text);
    expect(after.map((m) => m.params?.data ?? m.result?.content[0].text)).toEqual(['after', `answered by ${holder}`]);
    expect(after.at(-1).id).toBe(300 + i);

    // Ended: the whole exchange, replayed from its first event.
    const replayed = await get(ids[0]!);
    expect(replayed.status, replayed.text).toBe(200);
    expect(messagesOf(replayed.text)).toEqual([...messagesOf(before), ...after]);
  }
  expect(holders.size).toBe(2);
});

it('reopens the GET stream of a session in either worker with the notifications it missed, and goes on', { timeout: 60_000 }, async () => {
  const opened = await rpc({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'listener', version: '1' } } });
  const headers = { 'mcp-session-id': opened.session!, 'mcp-protocol-version': '2025-11-25' };
  expect((await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  /** A GET stream; `until` reads its events until it holds so many list_changed, then ends it. */
  const listen = async (lastEventId?: string) => {
    const controller = new AbortController();
    const response = await request(endpoint, {
      method: 'GET',
      reset: true,
      signal: controller.signal,
      headers: { ...headers, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    });
    expect(response.statusCode).toBe(200);
    let text = '';
    const changes = () => (text.match(/tools\/list_changed/g) ?? []).length;
    const chunks = response.body[Symbol.asyncIterator]();
    return {
      /** Read until the stream holds `count` list_changed, making a change before each read when given one. */
      async until(count: number, change?: () => Promise<unknown>) {
        for (let i = 0; changes() < count; i++) {
          if (i === 50) throw new Error(`${count} list_changed did not arrive: ${text}`);
          await change?.();
          const next = await Promise.race([chunks.next(), sleep(200).then(() => undefined)]);
          if (next && !next.done) text += String(next.value);
        }
        return [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);
      },
      close: () => controller.abort(),
    };
  };
  let n = 0;
  const learn = () => rpc(tool(400 + n, 'learn', { name: `heard_${n++}` }));
  let stream = await listen();
  let ids = await stream.until(1, learn);
  for (let round = 0; round < 3; round++) {
    stream.close();
    // Made while nobody listens: the holder of the stream keeps it for the client.
    await learn();
    await sleep(100);
    stream = await listen(ids.at(-1));
    // The one it missed comes first, unasked; then the stream goes on.
    await stream.until(1);
    ids = await stream.until(2, learn);
  }
  stream.close();
});
