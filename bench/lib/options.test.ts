import { describe, expect, it } from 'vitest';
import { parseOptions } from './options.ts';

describe('parseOptions', () => {
  it('has defaults that keep a full run well under ten minutes', () => {
    const { settings } = parseOptions([], {});
    expect(settings).toMatchObject({ rounds: 9, seconds: 2, warmupSeconds: 8, connections: 32, quick: false, only: [], fromSource: false });
  });

  it('--quick shortens everything; explicit values still win', () => {
    expect(parseOptions(['--quick'], {}).settings).toMatchObject({ rounds: 3, seconds: 2, warmupSeconds: 1 });
    expect(parseOptions(['--quick', '--rounds', '7'], {}).settings.rounds).toBe(7);
    expect(parseOptions(['--rounds=4'], {}).settings.rounds).toBe(4);
  });

  it('reads BENCH_* variables, flags first', () => {
    const env = { BENCH_ROUNDS: '2', BENCH_SECONDS: '9', BENCH_ONLY: 'rss, connect', BENCH_TS: '1', BENCH_KEEP_LOGS: '1' };
    expect(parseOptions([], env).settings).toMatchObject({ rounds: 2, seconds: 9, only: ['rss', 'connect'], fromSource: true, keepLogs: true });
    expect(parseOptions(['--seconds', '3'], env).settings.seconds).toBe(3);
  });

  it('says what is wrong with a bad value or an unknown option', () => {
    expect(() => parseOptions(['--rounds', '0'], {})).toThrow('--rounds must be a whole number of at least 1, got "0".');
    expect(() => parseOptions(['--seconds', 'abc'], {})).toThrow(/--seconds must be a whole number/);
    expect(() => parseOptions(['--rounds'], {})).toThrow('--rounds needs a value; see --help.');
    expect(() => parseOptions(['--fast'], {})).toThrow('unknown option --fast; see --help.');
    expect(() => parseOptions(['rss'], {})).toThrow('unexpected argument "rss"; see --help.');
  });
});
