import { describe, expect, it } from 'vitest';
import { chartSvg } from './chart.ts';
import type { Environment } from './environment.ts';
import { resultsMarkdown, type RunInfo } from './report.ts';
import type { RowResult, RowSpec } from './runner.ts';
import { summarize } from './stats.ts';

const rows: RowSpec[] = [
  { id: 'http', title: 'HTTP echo vs bare Fastify', anchor: 'fastify_echo.mjs', figure: 'requests/s', unit: 'requests/s', goal: { op: '>=', value: 0.85, unit: 'x' }, setup: async () => ({ b: undefined as never, close: async () => {} }) },
  { id: 'connect', title: 'connect() p50', anchor: '—', figure: 'ms', unit: 'ms', goal: { op: '<=', value: 5, unit: 'ms' }, setup: async () => ({ b: undefined as never, close: async () => {} }) },
  { id: 'gw', title: 'Gateway hop & friends', anchor: 'fastify_proxy.mjs', figure: 'requests/s', unit: 'requests/s', goal: { op: '>=', value: 1, unit: 'x' }, setup: async () => ({ b: undefined as never, close: async () => {} }) },
  { id: 'py', title: 'HTTP echo vs FastAPI', anchor: 'fastapi_echo.py', figure: 'requests/s', unit: 'requests/s', setup: async () => ({ b: undefined as never, close: async () => {} }) },
];

const results: RowResult[] = [
  {
    id: 'http',
    state: 'measured',
    result: summarize([0.8, 0.82, 0.9]),
    a: { label: 'fastify_echo', value: summarize([10000, 11000, 12000]), cpuMicrosPerOp: summarize([50, 50, 50]) },
    b: { label: 'taskmesh', value: summarize([8000, 9000, 9900]), cpuMicrosPerOp: summarize([62.5, 62.5, 62.5]) },
    met: false,
    atOnce: { runs: 3, seconds: 8, rate: summarize([0.86, 0.87, 0.85]), cpu: summarize([0.85, 0.88, 0.86]) },
  },
  { id: 'connect', state: 'measured', result: summarize([2, 3, 4]), b: { label: 'connect()', value: summarize([2, 3, 4]) }, met: true },
  { id: 'gw', state: 'skipped', reason: 'not available yet: the Gateway (issue 5) has not landed in src/.' },
  { id: 'py', state: 'failed', reason: 'fastapi_echo exited with 1. Its log:\nTraceback' },
];

const info: RunInfo = {
  env: {
    nodeVersion: 'v24.21.0',
    wrkVersion: 'wrk 4.1.0',
    python: { path: '/usr/bin/python3', version: 'Python 3.11.2 fastapi 0.92.0', httpx: true },
    pinServer: ['taskset', '-c', '0'],
    machine: { cpu: 'AMD EPYC', cores: 2, memoryGiB: 24, os: 'Linux 6.1', loadAverage: [1, 2, 3] },
    missing: { taskset: 'taskset is not installed' },
  } as unknown as Environment,
  settings: { rounds: 3, seconds: 4, warmupSeconds: 2, connections: 32, connectSamples: 200, only: [], quick: false, keepLogs: false, cpuProfile: false, fromSource: false, resultsDir: '/tmp' },
  startedAt: new Date('2026-11-21T20:00:00Z'),
  finishedAt: new Date('2026-11-21T20:06:30Z'),
  loadAtEnd: [4, 5, 6],
  notes: { http: 'Profiled: the request log line costs most.' },
  chartFile: 'chart.svg',
};

describe('resultsMarkdown', () => {
  const md = resultsMarkdown(rows, results, info);

  it('names the machine, the date, the method and links the chart', () => {
    expect(md).toContain('2026-11-21 20:00 UTC, in one run of 6.5 minutes');
    expect(md).toContain('AMD EPYC, 2 cores, 24 GiB, Linux 6.1; Node v24.21.0');
    expect(md).toContain('Load average 1.00, 2.00, 3.00 at the start and 4.00, 5.00, 6.00 at the end');
    expect(md).toContain('wrk `-t1 -c32`, a 2 s warm-up per side, then 3 rounds of A then B, 4 s each');
    expect(md).toContain('![taskmesh ÷ anchor, per row](chart.svg)');
  });

  it('gives each row its median, spread and goal, and whether the goal is met', () => {
    expect(md).toContain('| HTTP echo vs bare Fastify | fastify_echo.mjs | **0.82x** | 0.80x – 0.90x (12%) | ≥ 0.85x | **no** |');
    expect(md).toContain('| connect() p50 | — | **3.00 ms** | 2.00 ms – 4.00 ms (67%) | ≤ 5.00 ms | yes |');
    expect(md).toContain('| HTTP echo vs FastAPI | fastapi_echo.py | failed |  | none (context) | — |');
  });

  it('says why a row was not measured, and what the machine lacks', () => {
    expect(md).toContain('- Gateway hop & friends: skipped, not available yet: the Gateway (issue 5) has not landed in src/.');
    expect(md).toContain('- HTTP echo vs FastAPI: failed, fastapi_echo exited with 1. Its log:');
    expect(md).toContain('- taskset is not installed');
  });

  it('details both sides, the CPU comparison and the profiling note', () => {
    expect(md).toContain('- A fastify_echo: median 11,000 requests/s (rounds 10,000 – 12,000); CPU 50.0 µs per request');
    expect(md).toContain('- CPU per request, A ÷ B: 0.80x');
    expect(md).toContain('Profiled: the request log line costs most.');
  });

  it('gives the figures of both sides loaded at once, as context, where the row has them', () => {
    expect(md).toContain('- loaded at once (context, see Method; 3 runs of 8 s): requests/s, B ÷ A, 0.86x (runs 0.86, 0.87, 0.85); CPU per request, A ÷ B, 0.86x (runs 0.85, 0.88, 0.86)\n');
    expect(md).toContain('Rows whose sides share no process are then also loaded at once, as context');
    expect(md.match(/- loaded at once/g)).toHaveLength(1);
  });
});

describe('chartSvg', () => {
  const svg = chartSvg(rows, results, 'caption & more');

  it('is one SVG document with a lane per row, text escaped', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('caption &amp; more');
    expect(svg).toContain('Gateway hop &amp; friends');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
  });

  it('names each lane\'s goal, or that it has none', () => {
    expect(svg).toContain('>goal ≥ 0.85x</text>');
    expect(svg).toContain('>goal ≤ 5.00 ms</text>');
    expect(svg).toContain('>context, no goal</text>');
  });

  it('colours a missed goal red and a met one green, and says why a lane is empty', () => {
    expect(svg).toContain('fill="#c0392b">0.82x</text>');
    expect(svg).toContain('fill="#2e8b57">3.00 ms</text>');
    expect(svg).toContain('skipped: not available yet: the Gateway');
    expect(svg).toContain('failed: fastapi_echo exited with 1. Its log:');
  });
});
