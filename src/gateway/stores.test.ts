// The registry stores, through one suite: what every store does, then what a lasting one adds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedisServer, needsRedis, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { closeRedis, connectRedis } from '../redis.ts';
import { redisStore } from './redis-store.ts';
import { memoryStore, type AppRecord, type RegistryStore } from './registry.ts';
import { stateFileStore } from './state-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-stores-'));
let redis: RedisServer;
const opened: RegistryStore[] = [];
const closing: (() => Promise<void>)[] = [];
beforeAll(async () => {
  if (hasRedisServer) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all([...opened.map((store) => store.close?.()), ...closing.map((close) => close())]);
  await redis?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const record = (name: string, url = `http://127.0.0.1:9/${name}`): AppRecord => ({ name, url, registered_at: '2026-11-22T00:00:00.000Z' });
let places = 0;
const newPlace = (): string => `place-${++places}`;
const byName = (records: AppRecord[]): AppRecord[] => [...records].sort((a, b) => a.name.localeCompare(b.name));

/** Each store over a place of its own (a file, a Redis key): the same place gives the same registry, for a store that lasts. */
const stores: [string, (place: string) => RegistryStore, boolean, boolean][] = [
  ['memory', () => memoryStore(), false, true],
  ['state file', (place) => stateFileStore(join(dir, `${place}.json`)), true, true],
  [
    'Redis',
    (place) => {
      const store = redisStore({ url: redis.url, key: `stores:${place}`, onError: () => {} });
      opened.push(store);
      return store;
    },
    true,
    hasRedisServer,
  ],
];

describe.each(stores)('the %s store', (name, open, lasting, runnable) => {
  if (!runnable) {
    it.skip(`all of it${needsRedis}`, () => {});
    return;
  }
  const make = (): RegistryStore => open(newPlace());

  it('starts empty, adds, replaces by name and removes, saying whether anything changed', async () => {
    const store = make();
    expect(await store.load()).toEqual([]);
    expect(await store.apply({ put: record('a') })).toEqual({ records: [record('a')], changed: true });
    expect(await store.apply({ put: record('b') })).toEqual({ records: [record('a'), record('b')], changed: true });
    const moved = record('a', 'http://127.0.0.1:9/elsewhere');
    expect(byName((await store.apply({ put: moved })).records)).toEqual([moved, record('b')]);
    expect(await store.apply({ remove: 'b' })).toEqual({ records: [moved], changed: true });
    expect(await store.apply({ remove: 'b' })).toEqual({ records: [moved], changed: false });
    expect(await store.load()).toEqual([moved]);
  });

  it('hands out copies: changing a returned list changes nothing stored', async () => {
    const store = make();
    const { records } = await store.apply({ put: record('a') });
    records.pop();
    expect(await store.load()).toEqual([record('a')]);
  });

  it.runIf(lasting)('keeps the records for the next store over the same place', async () => {
    const place = newPlace();
    const first = open(place);
    await first.apply({ put: record('kept') });
    await first.apply({ put: record('dropped') });
    await first.apply({ remove: 'dropped' });
    expect(await open(place).load()).toEqual([record('kept')]);
  });
});

describe.skipIf(!hasRedisServer)(`the Redis store, when its registry vanishes from Redis${needsRedis}`, () => {
  /** Two replicas' stores over one key, both having read the registry, and a way to empty that key as a restart without persistence would. */
  async function replicasOverOneKey(): Promise<{ a: RegistryStore; b: RegistryStore; vanish: () => Promise<void> }> {
    const key = `stores:${newPlace()}`;
    const [a, b] = [0, 1].map(() => {
      const store = redisStore({ url: redis.url, key, onError: () => {} });
      opened.push(store);
      return store;
    });
    await a!.apply({ put: record('one') });
    await a!.apply({ put: record('two') });
    expect(await b!.load()).toEqual([record('one'), record('two')]);
    const client = await connectRedis(redis.url, () => {});
    const vanish = async (): Promise<void> => {
      await client.del([`${key}:apps`, `${key}:version`]);
    };
    closing.push(() => closeRedis(client));
    return { a: a!, b: b!, vanish };
  }

  it('writes it back from a replica\'s copy when the replica reads it again', async () => {
    const { a, b, vanish } = await replicasOverOneKey();
    await vanish();
    expect(await b.load()).toEqual([record('one'), record('two')]);
    expect(await a.load()).toEqual([record('one'), record('two')]);
  });

  it('keeps a change made on the emptied Redis, with the rest written back', async () => {
    const { a, b, vanish } = await replicasOverOneKey();
    await vanish();
    expect(await a.apply({ put: record('three') })).toEqual({ records: [record('one'), record('three'), record('two')], changed: true });
    expect(byName(await b.load())).toEqual([record('one'), record('three'), record('two')]);
    await vanish();
    expect(await b.apply({ remove: 'one' })).toEqual({ records: [record('three'), record('two')], changed: true });
    expect(byName(await a.load())).toEqual([record('three'), record('two')]);
  });

  it('leaves a registry emptied by unregistering empty: only a counter gone or gone back means it vanished', async () => {
    const { a, b } = await replicasOverOneKey();
    await a.apply({ remove: 'one' });
    await a.apply({ remove: 'two' });
    expect(await b.load()).toEqual([]);
    expect(await a.load()).toEqual([]);
  });
});
