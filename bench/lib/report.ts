/** bench/RESULTS.md: the machine, the date, the method, each row's ratio with its spread and goal. */
import type { Environment } from './environment.ts';
import { formatGoal, formatNumber, formatValue } from './format.ts';
import type { AtOnce, RowResult, RowSpec, Settings } from './runner.ts';

export interface RunInfo {
  env: Environment;
  settings: Settings;
  startedAt: Date;
  finishedAt: Date;
  loadAtEnd: number[];
  /** Per row id: what profiling found, and what was fixed. */
  notes: Record<string, string>;
  chartFile: string;
}

const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');

export function methodText(info: RunInfo): string {
  const { env, settings } = info;
  const pinning = env.pinServer.length ? 'each server pinned to core 0 and the load generator to core 1 (taskset)' : 'nothing pinned (no taskset or a single core)';
  return (
    `${pinning}; wrk \`-t1 -c${settings.connections}\`, a ${settings.warmupSeconds} s warm-up per side, then ${settings.rounds} rounds of ` +
    `A then B, ${settings.seconds} s each. Each round gives one ratio B ÷ A (taskmesh over its anchor); the table gives their median and ` +
    `spread (the lowest and highest round, and that range as a share of the median). Rows whose sides share no process are then also ` +
    `loaded at once, as context: both servers share the server core and both loads the load core (the client row: both clients load one service), so the machine's swings slow both alike ` +
    `and the figure varies far less than the rounds; but each server then has part of a core and serves larger batches per event-loop turn ` +
    `than alone, a different operating point, which can favour either side. taskmesh runs ${settings.fromSource ? 'from its .ts sources under Node\'s type stripping' : 'compiled by tsc, as the published package does (the anchors are plain JavaScript too)'}; its servers log as by default ` +
    `(pino, one line per request) to ${settings.keepLogs ? 'a file' : '/dev/null'}; the anchors log as their files say.`
  );
}

function resultCells(row: RowSpec, result: RowResult): string[] {
  if (result.state !== 'measured') return [`${result.state}`, '', formatGoal(row.goal), '—'];
  const unit = row.goal?.unit ?? 'x';
  const { median, min, max, spread } = result.result;
  const met = result.met === undefined ? 'context' : result.met ? 'yes' : '**no**';
  return [
    `**${formatValue(median, unit)}**`,
    `${formatValue(min, unit)} – ${formatValue(max, unit)} (${(spread * 100).toFixed(0)}%)`,
    formatGoal(row.goal),
    met,
  ];
}

function detail(row: RowSpec, result: RowResult, note: string | undefined): string {
  const lines = [`### ${row.title}`, '', `Anchor: ${row.anchor}. Figure: ${row.figure}. Goal: ${formatGoal(row.goal)}.`, ''];
  if (result.state === 'measured') {
    const side = (s: NonNullable<typeof result.a>, name: string) =>
      `- ${name}${s.label}: median ${formatNumber(s.value.median)} ${row.unit} (rounds ${formatNumber(s.value.min)} – ${formatNumber(s.value.max)})` +
      (s.cpuMicrosPerOp ? `; CPU ${formatNumber(s.cpuMicrosPerOp.median)} µs per request` : '');
    if (result.a) lines.push(side(result.a, 'A '));
    lines.push(side(result.b, result.a ? 'B ' : ''));
    if (result.a?.cpuMicrosPerOp && result.b.cpuMicrosPerOp) {
      const cpuRatio = result.a.cpuMicrosPerOp.median / result.b.cpuMicrosPerOp.median;
      lines.push(
        `- CPU per request, A ÷ B: ${cpuRatio.toFixed(2)}x (the same comparison counted in CPU time spent, which others' load on the machine disturbs far less than the rate)`,
      );
    }
    lines.push(`- rounds: ${result.result.samples.map((v) => formatValue(v, row.goal?.unit ?? 'x')).join(', ')}`);
    if (result.atOnce) lines.push(atOnceLine(result.atOnce, row.unit));
  } else {
    lines.push(`${result.state === 'skipped' ? 'Skipped' : 'Failed'}: ${result.reason.trim().replace(/\n/g, '\n    ')}`);
  }
  if (note) lines.push('', note);
  return lines.join('\n');
}

function atOnceLine({ runs, seconds, rate, cpu }: AtOnce, unit: string): string {
  const runsOf = (summary: AtOnce['rate']) => `${summary.median.toFixed(2)}x (runs ${summary.samples.map((v) => v.toFixed(2)).join(', ')})`;
  return `- loaded at once (context, see Method; ${runs} runs of ${seconds} s): ${unit}, B ÷ A, ${runsOf(rate)}` + (cpu ? `; CPU per request, A ÷ B, ${runsOf(cpu)}` : '');
}

export function resultsMarkdown(rows: RowSpec[], results: RowResult[], info: RunInfo): string {
  const { env } = info;
  const byId = new Map(results.map((r) => [r.id, r]));
  const ran = rows.filter((row) => byId.has(row.id));
  const python = env.python ? `${env.python.version}` : 'no Python anchors';
  const minutes = ((info.finishedAt.getTime() - info.startedAt.getTime()) / 60_000).toFixed(1);
  const out = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${info.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC, in one run of ${minutes} minutes. ` +
      'How to run it and read it: the Benchmark section of the README.',
    '',
    `**Machine**: ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os}; Node ${env.nodeVersion} for every Node server and client; ` +
      `${env.wrkVersion ?? 'no wrk'}; ${python}. Load average ${load(env.machine.loadAverage)} at the start and ${load(info.loadAtEnd)} at the end: ` +
      'the machine was shared, so absolute figures drift; the ratios, taken side by side in alternating rounds, are what to read.',
    '',
    `**Method**: ${methodText(info)}`,
    '',
    `![taskmesh ÷ anchor, per row](${info.chartFile})`,
    '',
    '| row | anchor | result: taskmesh ÷ anchor, median | spread: lowest – highest round | goal | met |',
    '| --- | --- | --- | --- | --- | --- |',
    ...ran.map((row) => `| ${row.title} | ${row.anchor} | ${resultCells(row, byId.get(row.id)!).join(' | ')} |`),
    '',
  ];
  const notRun = ran.filter((row) => byId.get(row.id)!.state !== 'measured');
  if (notRun.length) {
    out.push('Not measured in this run:', '');
    for (const row of notRun) {
      const r = byId.get(row.id) as Extract<RowResult, { reason: string }>;
      out.push(`- ${row.title}: ${r.state}, ${r.reason.split('\n')[0]}`);
    }
    out.push('');
  }
  const missing = Object.values(env.missing);
  if (missing.length) out.push('Missing on this machine:', '', ...missing.map((m) => `- ${m}`), '');
  out.push('## Rows in detail', '');
  for (const row of ran) out.push(detail(row, byId.get(row.id)!, info.notes[row.id]), '');
  return `${out.join('\n').trimEnd()}\n`;
}
