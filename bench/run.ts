// `npm run bench`: taskmesh beside its anchor servers, in one run, as ratios. See the README's
// Benchmark section, and `npm run bench -- --help`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTaskmesh } from './lib/build.ts';
import { chartSvg } from './lib/chart.ts';
import { detectEnvironment } from './lib/environment.ts';
import { BenchError } from './lib/errors.ts';
import { notes } from './lib/notes.ts';
import { USAGE, parseOptions } from './lib/options.ts';
import { resultsMarkdown } from './lib/report.ts';
import { rows } from './lib/rows.ts';
import { freePort, runRow, type BenchContext, type RowResult, type Settings } from './lib/runner.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);
const log = (line: string) => console.log(line);

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.list) {
    for (const row of rows) console.log(`${row.id.padEnd(16)} ${row.title} (vs ${row.anchor})`);
    return 0;
  }
  const unknown = parsed.settings.only.filter((id) => !rows.some((row) => row.id === id));
  if (unknown.length) throw new BenchError(`no row ${unknown.join(', ')}; --list shows them.`);

  const resultsDir = join(benchDir, 'results');
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

  // Only a run of every row replaces the committed results; a partial run stays in bench/results/.
  const outDir = settings.only.length ? resultsDir : benchDir;
  const info = { env, settings, startedAt, finishedAt: new Date(), loadAtEnd: loadavg(), notes, chartFile: 'chart.svg' };
  const caption = `${startedAt.toISOString().slice(0, 10)} · ${env.machine.cores} cores · ${settings.rounds} rounds of ${settings.seconds} s · ${env.machine.cpu}`;
  writeFileSync(join(outDir, 'chart.svg'), chartSvg(selected, results, caption));
  writeFileSync(join(outDir, 'RESULTS.md'), resultsMarkdown(selected, results, info));
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify({ startedAt, settings, env, results }, null, 2)}\n`);
  log(`\nwrote ${relative(repoRoot, join(outDir, 'RESULTS.md'))} and ${relative(repoRoot, join(outDir, 'chart.svg'))}`);
  return results.some((r) => r.state === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof BenchError ? `bench: ${error.message}` : error);
    process.exit(2);
  },
);
