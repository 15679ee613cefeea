// `npm run bench`: taskmesh beside its anchor servers, in one run, as ratios. See the README's
// Benchmark section, and `npm run bench -- --help`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTaskmesh } from './lib/build.ts';
import { chartSvg } from './lib/chart.ts';
import { detectEnvironment, type Environment } from './lib/environment.ts';
import { BenchError } from './lib/errors.ts';
import { notes } from './lib/notes.ts';
import { USAGE, parseOptions } from './lib/options.ts';
import { resultsMarkdown, type RunInfo } from './lib/report.ts';
import { stopServersOnSignals } from './lib/processes.ts';
import { rows } from './lib/rows.ts';
import { freePort, runRow, type BenchContext, type RowResult, type Settings } from './lib/runner.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);
const resultsDir = join(benchDir, 'results');
const latestFile = join(resultsDir, 'latest.json');
const log = (line: string) => console.log(line);

interface SavedRun {
  startedAt: string;
  finishedAt: string;
  loadAtEnd: number[];
  settings: Settings;
  env: Environment;
  results: RowResult[];
}

/** Only a run of every row replaces the committed report; a partial run's stays in bench/results/. */
function writeReport(run: SavedRun): void {
  const outDir = run.settings.only.length ? resultsDir : benchDir;
  const selected = rows.filter((row) => run.results.some((r) => r.id === row.id));
  const startedAt = new Date(run.startedAt);
  const info: RunInfo = { env: run.env, settings: run.settings, startedAt, finishedAt: new Date(run.finishedAt), loadAtEnd: run.loadAtEnd, notes, chartFile: 'chart.svg' };
  const caption = `${run.startedAt.slice(0, 10)} · ${run.env.machine.cores} cores · ${run.settings.rounds} rounds of ${run.settings.seconds} s · ${run.env.machine.cpu}`;
  writeFileSync(join(outDir, 'chart.svg'), chartSvg(selected, run.results, caption));
  writeFileSync(join(outDir, 'RESULTS.md'), resultsMarkdown(selected, run.results, info));
  log(`wrote ${relative(repoRoot, join(outDir, 'RESULTS.md'))} and ${relative(repoRoot, join(outDir, 'chart.svg'))}`);
}

async function main(): Promise<number> {
  stopServersOnSignals();
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.list) {
    for (const row of rows) console.log(`${row.id.padEnd(20)} ${row.title} (vs ${row.anchor})`);
    return 0;
  }
  if (parsed.reportOnly) {
    if (!existsSync(latestFile)) throw new BenchError(`there is no last run to report on (${relative(repoRoot, latestFile)}); run the benchmark first.`);
    writeReport(JSON.parse(readFileSync(latestFile, 'utf8')) as SavedRun);
    return 0;
  }
  const unknown = parsed.settings.only.filter((id) => !rows.some((row) => row.id === id));
  if (unknown.length) throw new BenchError(`no row ${unknown.join(', ')}; --list shows them.`);

  mkdirSync(resultsDir, { recursive: true });
  const settings: Settings = { ...parsed.settings, resultsDir };
  const startedAt = new Date();
  const env = detectEnvironment({ repoRoot, anchorsSource: process.env.BENCH_ANCHORS, pythons: process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : undefined, log });
  for (const line of Object.values(env.missing)) log(`note: ${line}`);
  if (!settings.fromSource) buildTaskmesh(repoRoot, log);
  const logsDir = join(resultsDir, 'logs');
  if (settings.keepLogs) mkdirSync(logsDir, { recursive: true });
  const ctx: BenchContext = {
    env,
    settings,
    log,
    freePort,
    serverLog: (name) => (settings.keepLogs ? join(logsDir, `${name}.log`) : '/dev/null'),
  };

  const selected = settings.only.length ? rows.filter((row) => settings.only.includes(row.id)) : rows;
  log(`${selected.length} rows, ${settings.rounds} rounds of ${settings.seconds} s (warm-up ${settings.warmupSeconds} s); anchors from ${env.anchors}`);
  const results: RowResult[] = [];
  for (const row of selected) {
    log(`\n${row.title} (vs ${row.anchor})`);
    const result = await runRow(row, ctx);
    results.push(result);
    if (result.state === 'measured') log(`  => ${result.result.median.toFixed(3)} (rounds ${result.result.min.toFixed(3)} – ${result.result.max.toFixed(3)})${result.met === false ? ', goal missed' : ''}`);
    else log(`  => ${result.state}: ${result.reason}`);
  }

  const run: SavedRun = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), loadAtEnd: loadavg(), settings, env, results };
  writeFileSync(latestFile, `${JSON.stringify(run, null, 2)}\n`);
  log('');
  writeReport(run);
  return results.some((r) => r.state === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof BenchError ? `bench: ${error.message}` : error);
    process.exit(2);
  },
);
