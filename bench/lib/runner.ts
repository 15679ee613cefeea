/**
 * The runner: for each row, its servers started once, each side warmed up, then rounds of A then B,
 * each round giving one ratio B / A (taskmesh over its anchor). Rows that cannot run here are
 * skipped with their reason; a row that fails says why and the others go on.
 */
import { createServer } from 'node:net';
import { BenchError } from './errors.ts';
import { missingNeed, type Environment, type Need } from './environment.ts';
import { summarize, type Summary } from './stats.ts';

export interface Settings {
  rounds: number;
  /** Seconds of load per measurement (wrk and the client driver). */
  seconds: number;
  warmupSeconds: number;
  /** Concurrent connections (wrk) and calls (client driver). */
  connections: number;
  /** connect() samples per round. */
  connectSamples: number;
  /** Row ids to run; all when empty. */
  only: string[];
  quick: boolean;
  /** Keep the servers' output in log files instead of /dev/null. */
  keepLogs: boolean;
  /** Run every Node server under --cpu-prof, profiles written to the results folder. */
  cpuProfile: boolean;
  /** Run taskmesh's side from its .ts sources (Node's type stripping) instead of compiled JavaScript. */
  fromSource: boolean;
  resultsDir: string;
}

export interface Goal {
  op: '>=' | '<=';
  value: number;
  unit: 'x' | 'ms';
}

export interface Sample {
  value: number;
  /** CPU microseconds the measured process(es) spent per request, when known. */
  cpuMicrosPerOp?: number | undefined;
}

export interface Side {
  label: string;
  warmup(): Promise<void>;
  /** One measurement, of the settings' length, or of `seconds` for a side that gives `counts`. */
  measure(seconds?: number): Promise<Sample>;
  /**
   * The processes whose CPU `measure` counts, given when it can run at the same time as the other
   * side's (wrk loads): a row whose two sides count none in common is then also loaded at once.
   */
  counts?: readonly object[];
}

/** A row's set-up: two sides whose values are compared as B / A, or one side (B) read as is. */
export interface Trial {
  a?: Side;
  b: Side;
  close(): Promise<void>;
}

export interface BenchContext {
  env: Environment;
  settings: Settings;
  log(line: string): void;
  freePort(): Promise<number>;
  /** Where a server's output goes: a file in the results folder with keepLogs, else /dev/null. */
  serverLog(name: string): string;
}

export interface RowSpec {
  id: string;
  title: string;
  /** The anchor file(s) the row measures against, or what stands in for them. */
  anchor: string;
  /** What the figure is, for the report. */
  figure: string;
  /** The unit of each side's own value (requests/s, ms, KiB, ...). */
  unit: string;
  /** The goal from the issues; none for rows that only give context. */
  goal?: Goal;
  needs?: Need[];
  /** The feature the row measures, when it belongs to another issue: undefined when it is there, else why not. */
  available?: () => Promise<string | undefined>;
  setup(ctx: BenchContext): Promise<Trial>;
}

export type RowResult =
  | { id: string; state: 'skipped'; reason: string }
  | { id: string; state: 'failed'; reason: string }
  | {
      id: string;
      state: 'measured';
      /** B / A per round, or B alone for single-sided rows. */
      result: Summary;
      a?: { label: string; value: Summary; cpuMicrosPerOp?: Summary | undefined } | undefined;
      b: { label: string; value: Summary; cpuMicrosPerOp?: Summary | undefined };
      met: boolean | undefined;
      /** Both sides loaded at the same time (see `loadedAtOnce`), when the row allows it. */
      atOnce?: AtOnce | undefined;
    };

/**
 * Both sides loaded at the same time, their servers sharing the server core and their load
 * generators the load core: whatever else the machine runs then slows both alike, so the ratios
 * hold far better than those of alternating rounds (one anchor against itself read 0.98-1.04 in
 * four 4-s runs here, where its alternating rounds swing by a third). But each server then has
 * part of a core and serves larger batches per event-loop turn than alone, a different operating
 * point: so it is context beside the row's result, which stays the alternating median that the
 * issue asks for.
 */
export interface AtOnce {
  runs: number;
  seconds: number;
  /** Requests/s, B ÷ A, per run. */
  rate: Summary;
  /** CPU per request, A ÷ B, per run (above 1: taskmesh spent less). */
  cpu?: Summary | undefined;
}

/** Runs of both sides loaded at once, each twice a round's length. */
const AT_ONCE_RUNS = 3;

export function meets(goal: Goal | undefined, value: number): boolean | undefined {
  if (!goal) return undefined;
  return goal.op === '>=' ? value >= goal.value : value <= goal.value;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new BenchError('could not find a free port');
  return address.port;
}

function cpuSummary(samples: Sample[]): Summary | undefined {
  const known = samples.map((s) => s.cpuMicrosPerOp).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return known.length === samples.length && known.length > 0 ? summarize(known) : undefined;
}

export async function runRow(row: RowSpec, ctx: BenchContext): Promise<RowResult> {
  const missing = missingNeed(ctx.env, row.needs ?? []);
  if (missing) return { id: row.id, state: 'skipped', reason: missing };
  const unavailable = await row.available?.();
  if (unavailable) return { id: row.id, state: 'skipped', reason: unavailable };

  let trial: Trial | undefined;
  try {
    trial = await row.setup(ctx);
    const { a, b } = trial;
    if (a) await a.warmup();
    await b.warmup();
    const samplesA: Sample[] = [];
    const samplesB: Sample[] = [];
    const results: number[] = [];
    for (let round = 1; round <= ctx.settings.rounds; round++) {
      const sa = a ? await a.measure() : undefined;
      const sb = await b.measure();
      if (sa) samplesA.push(sa);
      samplesB.push(sb);
      results.push(sa ? sb.value / sa.value : sb.value);
      ctx.log(`  round ${round}/${ctx.settings.rounds}: ${sa ? `${a!.label} ${fmt(sa.value)}, ` : ''}${b.label} ${fmt(sb.value)}${sa ? ` -> ${results.at(-1)!.toFixed(3)}` : ''}`);
    }
    const result = summarize(results);
    const atOnce = a && sharesNothing(a, b) ? await loadedAtOnce(a, b, ctx) : undefined;
    return {
      id: row.id,
      state: 'measured',
      result,
      a: a ? { label: a.label, value: summarize(samplesA.map((s) => s.value)), cpuMicrosPerOp: cpuSummary(samplesA) } : undefined,
      b: { label: b.label, value: summarize(samplesB.map((s) => s.value)), cpuMicrosPerOp: cpuSummary(samplesB) },
      met: meets(row.goal, result.median),
      atOnce,
    };
  } catch (error) {
    const reason = error instanceof BenchError ? error.message : `${(error as Error)?.stack ?? String(error)}`;
    return { id: row.id, state: 'failed', reason };
  } finally {
    await trial?.close().catch((error: unknown) => ctx.log(`  stopping the row's servers failed: ${(error as Error)?.message ?? String(error)}`));
  }
}

function sharesNothing(a: Side, b: Side): boolean {
  return a.counts !== undefined && b.counts !== undefined && !a.counts.some((process) => b.counts!.includes(process));
}

async function loadedAtOnce(a: Side, b: Side, ctx: BenchContext): Promise<AtOnce> {
  const seconds = ctx.settings.seconds * 2;
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let run = 1; run <= AT_ONCE_RUNS; run++) {
    const [sa, sb] = await Promise.all([a.measure(seconds), b.measure(seconds)]);
    rates.push(sb.value / sa.value);
    if (sa.cpuMicrosPerOp !== undefined && sb.cpuMicrosPerOp !== undefined) cpus.push(sa.cpuMicrosPerOp / sb.cpuMicrosPerOp);
    ctx.log(`  at once ${run}/${AT_ONCE_RUNS}: ${a.label} ${fmt(sa.value)}, ${b.label} ${fmt(sb.value)} -> ${rates.at(-1)!.toFixed(3)}`);
  }
  return { runs: AT_ONCE_RUNS, seconds, rate: summarize(rates), cpu: cpus.length === AT_ONCE_RUNS ? summarize(cpus) : undefined };
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}
