import { describe, expect, it } from 'vitest';
import type { Environment } from './environment.ts';
import { BenchError } from './errors.ts';
import { meets, runRow, type BenchContext, type RowSpec, type Sample, type Side } from './runner.ts';

const env = { wrk: '/usr/bin/wrk', python: undefined, missing: { python: 'no python3 here imports fastapi; install it' } } as unknown as Environment;
const settings = { rounds: 3, seconds: 1, warmupSeconds: 1, connections: 32, connectSamples: 10, only: [], quick: false, keepLogs: false, cpuProfile: false, fromSource: false, resultsDir: '/tmp' };

function context(): BenchContext & { lines: string[] } {
  const lines: string[] = [];
  return { env, settings, lines, log: (line) => lines.push(line), freePort: async () => 0, serverLog: () => '/dev/null' };
}

/** A side that answers the given values in turn and counts its warm-ups (and the seconds it was asked for). */
function side(label: string, values: number[], counts?: object[]): Side & { warmups: number; asked: (number | undefined)[] } {
  let i = 0;
  const s = {
    label,
    warmups: 0,
    asked: [] as (number | undefined)[],
    warmup: async () => void (s.warmups += 1),
    measure: async (seconds?: number): Promise<Sample> => (s.asked.push(seconds), { value: values[i++]!, cpuMicrosPerOp: 10 }),
    ...(counts ? { counts } : {}),
  };
  return s;
}

const row = (overrides: Partial<RowSpec>): RowSpec => ({
  id: 'r',
  title: 'a row',
  anchor: 'x.mjs',
  figure: 'requests/s',
  unit: 'requests/s',
  goal: { op: '>=', value: 0.85, unit: 'x' },
  setup: async () => ({ b: side('b', [1, 1, 1]), close: async () => {} }),
  ...overrides,
});

describe('runRow', () => {
  it('alternates A and B after one warm-up each and reports B ÷ A per round', async () => {
    const a = side('anchor', [100, 200, 100]);
    const b = side('taskmesh', [90, 100, 120]);
    let closed = 0;
    const result = await runRow(row({ setup: async () => ({ a, b, close: async () => void (closed += 1) }) }), context());
    expect(result.state).toBe('measured');
    if (result.state !== 'measured') return;
    expect(result.result.samples).toEqual([0.9, 0.5, 1.2]);
    expect(result.result.median).toBe(0.9);
    expect(result.met).toBe(true);
    expect(result.a?.value.median).toBe(100);
    expect(result.b.cpuMicrosPerOp?.median).toBe(10);
    expect([a.warmups, b.warmups, closed]).toEqual([1, 1, 1]);
  });

  it('then loads both sides at once, for twice a round\'s length, when they count no process in common', async () => {
    const anchor = {};
    const ours = {};
    const a = side('anchor', [100, 100, 100, 100, 200, 100], [anchor]);
    const b = side('taskmesh', [90, 90, 90, 85, 170, 80], [ours]);
    const result = await runRow(row({ setup: async () => ({ a, b, close: async () => {} }) }), context());
    if (result.state !== 'measured') throw new Error(result.state);
    expect(result.result.samples).toEqual([0.9, 0.9, 0.9]);
    expect(result.atOnce?.rate.samples).toEqual([0.85, 0.85, 0.8]);
    expect(result.atOnce?.cpu?.samples).toEqual([1, 1, 1]);
    expect(result.atOnce).toMatchObject({ runs: 3, seconds: 2 });
    expect(b.asked).toEqual([undefined, undefined, undefined, 2, 2, 2]);
  });

  it('does not load them at once when they count a process in common (a shared upstream), or one side cannot run beside the other', async () => {
    const upstream = {};
    const shared = await runRow(row({ setup: async () => ({ a: side('proxy', [1, 1, 1], [upstream]), b: side('gateway', [1, 1, 1], [{}, upstream]), close: async () => {} }) }), context());
    const oneSided = await runRow(row({ setup: async () => ({ a: side('driver', [1, 1, 1]), b: side('taskmesh', [1, 1, 1], [{}]), close: async () => {} }) }), context());
    for (const result of [shared, oneSided]) expect(result).toMatchObject({ state: 'measured', atOnce: undefined });
  });

  it('reads a one-sided row as the value itself, against a ceiling goal', async () => {
    const result = await runRow(row({ goal: { op: '<=', value: 5, unit: 'ms' }, setup: async () => ({ b: side('connect', [4, 6, 7]), close: async () => {} }) }), context());
    expect(result).toMatchObject({ state: 'measured', met: false, result: { median: 6 } });
  });

  it('skips a row whose tool is missing, saying how to install it', async () => {
    const result = await runRow(row({ needs: ['python'] }), context());
    expect(result).toEqual({ id: 'r', state: 'skipped', reason: 'no python3 here imports fastapi; install it' });
  });

  it('skips a row whose feature has not landed, with its reason, without setting anything up', async () => {
    let setUp = false;
    const result = await runRow(
      row({ available: async () => 'not available yet: the Gateway (issue 5) has not landed in src/.', setup: async () => ((setUp = true), { b: side('b', []), close: async () => {} }) }),
      context(),
    );
    expect(result).toMatchObject({ state: 'skipped', reason: 'not available yet: the Gateway (issue 5) has not landed in src/.' });
    expect(setUp).toBe(false);
  });

  it('reports a failing row with its reason and still closes what it started', async () => {
    let closed = false;
    const failing: Side = { label: 'b', warmup: async () => {}, measure: async () => Promise.reject(new BenchError('the server died')) };
    const result = await runRow(row({ setup: async () => ({ b: failing, close: async () => void (closed = true) }) }), context());
    expect(result).toEqual({ id: 'r', state: 'failed', reason: 'the server died' });
    expect(closed).toBe(true);
  });

  it('meets() reads the goal in its direction, and no goal is no verdict', () => {
    expect(meets({ op: '>=', value: 1, unit: 'x' }, 1)).toBe(true);
    expect(meets({ op: '>=', value: 1, unit: 'x' }, 0.99)).toBe(false);
    expect(meets({ op: '<=', value: 1.5, unit: 'x' }, 1.6)).toBe(false);
    expect(meets(undefined, 3)).toBeUndefined();
  });
});
