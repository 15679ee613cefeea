// The registry stores, through one suite: what every store does, then what a lasting one adds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedisServer, needsRedis, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { redisStore } from './redis-store.ts';
import { memoryStore, type AppRecord, type RegistryStore } from './registry.ts';
import { stateFileStore } from './state-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-stores-'));
let redis: RedisServer;
const opened: RegistryStore[] = [];
beforeAll(async () => {
  if (hasRedisServer) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(opened.map((store) => store.close?.()));
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
