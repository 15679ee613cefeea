import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { assertJsonSerializable, splitLaunchOptions } from './options.ts';

describe('splitLaunchOptions', () => {
  it('keeps launch options apart from init options, and drops undefined ones', () => {
    const { launch, init } = splitLaunchOptions({ port: 0, numWorkers: 2, timeout: 500, greeting: 'hi', limits: { max: 3 }, skipped: undefined });
    expect(launch).toEqual({ port: 0, numWorkers: 2, timeout: 500 });
    expect(init).toEqual({ greeting: 'hi', limits: { max: 3 } });
  });

  it.each([
    [{ numWorkers: 0 }, /numWorkers must be a whole number of at least 1, got 0/],
    [{ numWorkers: 1.5 }, /numWorkers must be a whole number/],
    [{ timeout: -1 }, /timeout is in milliseconds and must be above 0, got -1/],
    [{ onReady: 'yes' }, /onReady must be a function/],
  ])('refuses %j', (options, message) => {
    expect(() => splitLaunchOptions(options)).toThrow(message);
  });
});

describe('assertJsonSerializable', () => {
  it('accepts plain data', () => {
    expect(() => assertJsonSerializable({ a: 'x', b: 1.5, c: true, d: null, e: [1, { f: 'g' }], h: Object.create(null) })).not.toThrow();
  });

  class Pool {}
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;

  it.each([
    [{ onReady: () => {} }, '`onReady` is a function'],
    [{ db: { pool: new Pool() } }, '`db.pool` is a Pool instance'],
    [{ when: new Date(0) }, '`when` is a Date instance'],
    [{ lookup: new Map() }, '`lookup` is a Map instance'],
    [{ ratio: Number.NaN }, '`ratio` is NaN, which JSON cannot carry'],
    [{ big: 10n }, '`big` is a bigint'],
    [{ list: [1, undefined] }, '`list` is undefined at index 1'],
    [{ tree: cycle }, '`tree.self` is part of a cycle'],
  ])('refuses %o, naming the option', (init, message) => {
    const error = (() => {
      try {
        assertJsonSerializable(init as Record<string, unknown>);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`The init option ${message}`);
    expect((error as Error).message).toContain('pass plain data');
  });
});
