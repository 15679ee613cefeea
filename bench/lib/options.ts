/** The benchmark's settings, from flags first and then BENCH_* environment variables. */
import { BenchError } from './errors.ts';
import type { Settings } from './runner.ts';

export const USAGE = `npm run bench [-- options]

  --quick            3 rounds of 2 s, 1 s warm-up (a rough look in about 3 minutes)
  --rounds N         rounds of A then B per row (BENCH_ROUNDS; 9)
  --seconds N        seconds of load per measurement (BENCH_SECONDS; 2)
  --warmup N         seconds of warm-up load per side (BENCH_WARMUP; 8)
  --only ID,ID       run only these rows (BENCH_ONLY); results then go to bench/results/ only
  --keep-logs        servers log to bench/results/logs/ instead of /dev/null (BENCH_KEEP_LOGS=1)
  --cpu-prof         run every Node server under node --cpu-prof (profiles in bench/results/profiles/)
  --ts               run taskmesh's side from its .ts sources (type stripping) instead of compiled JS (BENCH_TS=1)
  --report-only      rewrite the report and chart from the last run (bench/results/latest.json), e.g. after editing notes
  --list             list the rows and exit
  --help             this text

Environment: BENCH_ANCHORS (the anchors folder; ../shared/anchors by default),
BENCH_PYTHON (a python3 with FastAPI, uvicorn, uvloop, httptools, httpx).`;

export interface Parsed {
  settings: Omit<Settings, 'resultsDir'>;
  list: boolean;
  help: boolean;
  reportOnly: boolean;
}

function whole(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new BenchError(`${name} must be a whole number of at least ${min}, got "${value}".`);
  return n;
}

export function parseOptions(argv: string[], env: Record<string, string | undefined>): Parsed {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new BenchError(`unexpected argument "${arg}"; see --help.`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (['quick', 'keep-logs', 'cpu-prof', 'ts', 'report-only', 'list', 'help'].includes(name)) flags.set(name, true);
    else if (['rounds', 'seconds', 'warmup', 'only'].includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new BenchError(`--${name} needs a value; see --help.`);
      flags.set(name, value);
    } else throw new BenchError(`unknown option --${name}; see --help.`);
  }
  const text = (flag: string, variable: string) => {
    const value = flags.get(flag);
    return typeof value === 'string' ? value : env[variable];
  };
  const quick = flags.has('quick') || env.BENCH_QUICK === '1';
  const rounds = whole(text('rounds', 'BENCH_ROUNDS'), '--rounds', 1) ?? (quick ? 3 : 9);
  // Many short pairs rather than a few long ones: on a shared VM, others' load comes and goes within
  // seconds, and the median of nine pairs holds where that of five fell either side of a goal.
  const seconds = whole(text('seconds', 'BENCH_SECONDS'), '--seconds', 1) ?? 2;
  // Long enough for a Node server to reach its steady state at a gateway's rate: V8 optimises per
  // call, and a gateway and its app pinned to one core (3,000-5,000 requests/s) kept getting
  // cheaper for 6-8 s, to a third of their first second's CPU per request. A 2 s warm-up left the
  // first rounds measuring that, not the server.
  const warmupSeconds = whole(text('warmup', 'BENCH_WARMUP'), '--warmup', 1) ?? (quick ? 1 : 8);
  const only = (text('only', 'BENCH_ONLY') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    settings: {
      rounds,
      seconds,
      warmupSeconds,
      connections: 32,
      connectSamples: quick ? 100 : 200,
      only,
      quick,
      keepLogs: flags.has('keep-logs') || env.BENCH_KEEP_LOGS === '1',
      cpuProfile: flags.has('cpu-prof'),
      fromSource: flags.has('ts') || env.BENCH_TS === '1',
    },
    list: flags.has('list'),
    help: flags.has('help'),
    reportOnly: flags.has('report-only'),
  };
}
