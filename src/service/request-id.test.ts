import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdOf } from './request-id.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('are shaped like version 4 UUIDs, all different, in order within a process', () => {
    const ids = Array.from({ length: 5_000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('differ between processes', () => {
    const module = fileURLToPath(new URL('./request-id.ts', import.meta.url));
    const script = `import { newRequestId } from ${JSON.stringify(module)}; console.log(newRequestId());`;
    const run = () => spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout.trim();
    const [a, b] = [run(), run()];
    expect(a).toMatch(UUID_V4);
    expect(b).toMatch(UUID_V4);
    expect(a).not.toBe(b);
  });

  it('keep a caller\'s plain id and replace one that could forge log lines', () => {
    expect(requestIdOf({ headers: { 'x-request-id': 'trace-42' } })).toBe('trace-42');
    for (const forged of ['a b', 'x"y', 'line\nbreak', 'x'.repeat(129), '']) {
      expect(requestIdOf({ headers: { 'x-request-id': forged } })).toMatch(UUID_V4);
    }
    expect(requestIdOf({ headers: { 'x-request-id': ['a', 'b'] } })).toMatch(UUID_V4);
    expect(requestIdOf({ headers: {} })).toMatch(UUID_V4);
  });
});
