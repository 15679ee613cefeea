// The registry stores, through one suite: what every store does, then what a lasting one adds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore, type AppRecord, type RegistryStore } from './registry.ts';
import { stateFileStore } from './state-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (name: string, url = `http://127.0.0.1:9/${name}`): AppRecord => ({ name, url, registered_at: '2026-11-22T00:00:00.000Z' });
let files = 0;

const stores: [string, () => RegistryStore, boolean][] = [
  ['memory', () => memoryStore(), false],
  ['state file', () => stateFileStore(join(dir, `registry-${++files}.json`)), true],
];

describe.each(stores)('the %s store', (_name, make, lasting) => {
  it('starts empty, adds, replaces by name and removes, saying whether anything changed', async () => {
    const store = make();
    expect(await store.load()).toEqual([]);
    expect(await store.apply({ put: record('a') })).toEqual({ records: [record('a')], changed: true });
    expect(await store.apply({ put: record('b') })).toEqual({ records: [record('a'), record('b')], changed: true });
    const moved = record('a', 'http://127.0.0.1:9/elsewhere');
    expect((await store.apply({ put: moved })).records).toEqual([record('b'), moved]);
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
    const path = join(dir, 'lasting.json');
    const first = stateFileStore(path);
    await first.apply({ put: record('kept') });
    await first.apply({ put: record('dropped') });
    await first.apply({ remove: 'dropped' });
    expect(await stateFileStore(path).load()).toEqual([record('kept')]);
  });
});
