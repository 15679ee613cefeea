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

async function replica(bus: RedisEventBus): Promise<NotesService> {
  const service = new NotesService({ host: '127.0.0.1', port: 0, logger: false, mcp: { events: bus } });
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

  it('does not connect when Redis cannot be reached, and says where it looked', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(redisEventBus(url)).rejects.toMatchObject({ code: ErrorCodes.CONFIG, message: expect.stringContaining(`Cannot reach Redis at ${url}`) });
  });
});
