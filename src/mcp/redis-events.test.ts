// MCP change events between replicas over a real Redis server: a change in one replica reaches
// the clients of another.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/free-port.ts';
import { hasRedisServer, needsRedis, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { ErrorCodes } from '../errors.ts';
import { eraClient, eventually } from './fixtures/clients.ts';
import { NotesService } from './fixtures/notes.service.ts';
import { redisEventBus, type RedisEventBus } from './redis-events.ts';

let redis: RedisServer;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  if (hasRedisServer) redis = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => redis?.dispose());

async function replica(bus: RedisEventBus, sessionSecret?: string): Promise<NotesService> {
  const service = new NotesService({ host: '127.0.0.1', port: 0, logger: false, mcp: { events: bus, ...(sessionSecret ? { sessionSecret } : {}) } });
  await service.start();
  cleanups.push(() => service.stop());
  return service;
}

async function bus(channel: string): Promise<RedisEventBus> {
  const made = await redisEventBus(redis.url, { channel });
  cleanups.push(() => made.close());
  return made;
}

describe.skipIf(!hasRedisServer)(`redisEventBus${needsRedis}`, () => {
  it.each(['2025-11-25', '2026-07-28'] as const)('tells a %s client of one replica about a tool added in another', async (era) => {
    const a = await replica(await bus(`events:${era}`));
    const b = await replica(await bus(`events:${era}`));
    const client: Client = await eraClient(b.url, era);
    cleanups.push(() => client.close());
    let changes = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void changes++);
    if (era === '2026-07-28') await client.listen({ toolsListChanged: true });
    else await eventually(() => (b.mcp.sessionStreams > 0 ? true : undefined), 5_000, 'the GET stream of the session');
    a.addTool('from_a', () => 'hello from a', { description: 'Added in replica a.' });
    await eventually(() => (changes > 0 ? true : undefined), 5_000, "a list_changed on replica b's client");
    expect(changes).toBe(1);
  });

  it('carries the end of a session: a replica refuses an id its client ended through another', async () => {
    const a = await replica(await bus('events:sessions'), 'shared-by-the-replicas');
    const b = await replica(await bus('events:sessions'), 'shared-by-the-replicas');
    const endpoint = (service: NotesService): string => `${service.url}/mcp-server/mcp`;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const opened = await fetch(endpoint(a), {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    await opened.text();
    const session = { ...headers, 'mcp-session-id': opened.headers.get('mcp-session-id')! };
    const list = async (service: NotesService): Promise<number> => {
      const answer = await fetch(endpoint(service), { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      await answer.text();
      return answer.status;
    };
    expect(await list(b)).toBe(200);
    expect((await fetch(endpoint(a), { method: 'DELETE', headers: session })).status).toBe(200);
    // Until the closing arrives over Redis, b may still rebuild the session; once it has, b refuses it.
    const deadline = Date.now() + 5_000;
    while ((await list(b)) !== 404) {
      if (Date.now() > deadline) throw new Error('replica b still serves the session its client ended through replica a');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(b.mcp.sessionCount).toBe(0);
  });

  it('does not connect when Redis cannot be reached, and says where it looked', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(redisEventBus(url)).rejects.toMatchObject({ code: ErrorCodes.CONFIG, message: expect.stringContaining(`Cannot reach Redis at ${url}`) });
  });
});
