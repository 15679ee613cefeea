/** The building blocks rows are made of: servers started the same way, and the ways to load them. */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { taskmeshScript } from './build.ts';
import { BenchError } from './errors.ts';
import { answers, startServer, type ServerProcess } from './processes.ts';
import type { BenchContext, Sample, Side } from './runner.ts';
import { median } from './stats.ts';
import { runWrk } from './wrk.ts';

const run = promisify(execFile);

export const ECHO_BODY = JSON.stringify({ message: 'hello world', delay: 0.0 });
export const MCP_CALL_BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello world' } } });
export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };

export const echoAnswers = (baseUrl: string, path = '/echo') =>
  answers(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ECHO_BODY });
export const mcpAnswers = (url: string) => answers(url, { method: 'POST', headers: MCP_HEADERS, body: MCP_CALL_BODY });
/** Ready for sessions: an `initialize` is answered (a stateful server refuses a call without one). */
export const mcpInitializes = (url: string) =>
  answers(url, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
  });

export interface NodeServer {
  name: string;
  /** Script path: taskmesh's are relative to the repo root (their source), anchors' absolute. */
  script: string;
  args: string[];
  /** taskmesh's own servers run compiled (or from source with --ts); anchors as they are. */
  taskmesh: boolean;
  ready: (url: string) => () => Promise<boolean>;
}

/** A Node server pinned to the server core, started with the same Node as every other. */
export async function nodeServer(ctx: BenchContext, spec: NodeServer): Promise<{ server: ServerProcess; url: string }> {
  const port = await ctx.freePort();
  const url = `http://127.0.0.1:${port}`;
  const profile: string[] = [];
  if (ctx.settings.cpuProfile) {
    const dir = join(ctx.settings.resultsDir, 'profiles');
    mkdirSync(dir, { recursive: true });
    // Anchors have no signal handler of their own: without one, SIGTERM ends them before the profile is written.
    if (!spec.taskmesh) profile.push('--import', join(ctx.env.repoRoot, 'bench', 'tools', 'exit-on-signal.ts'));
    profile.push('--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${spec.name}-${Date.now()}.cpuprofile`);
  }
  const server = await startServer({
    name: spec.name,
    command: ctx.env.node,
    args: [...profile, spec.taskmesh ? taskmeshScript(ctx.env.repoRoot, spec.script, ctx.settings.fromSource) : spec.script, String(port), ...spec.args],
    cwd: ctx.env.repoRoot,
    pin: ctx.env.pinServer,
    logFile: ctx.serverLog(spec.name),
    ready: spec.ready(url),
  });
  return { server, url };
}

/** A Python anchor pinned to the server core. */
export async function pythonServer(
  ctx: BenchContext,
  name: string,
  script: string,
  args: string[],
  ready: (url: string) => () => Promise<boolean>,
): Promise<{ server: ServerProcess; url: string }> {
  const python = ctx.env.python;
  if (!python) throw new BenchError('no python3 with the anchors\' packages');
  const port = await ctx.freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    name,
    command: python.path,
    args: [join(ctx.env.anchors, script), String(port), ...args],
    cwd: ctx.env.anchors,
    pin: ctx.env.pinServer,
    logFile: ctx.serverLog(name),
    ready: ready(url),
  });
  return { server, url };
}

export const anchorScript = (ctx: BenchContext, file: string) => join(ctx.env.anchors, file);

/**
 * Load with wrk (pinned to the load core): requests/s, and the CPU the measured servers spent per
 * request, which is far less noisy than the rate on a shared machine.
 */
export function wrkSide(ctx: BenchContext, label: string, url: string, script: string, measured: ServerProcess[], env?: Record<string, string>): Side {
  const load = (seconds: number) =>
    runWrk({ url, script: join(ctx.env.anchors, script), seconds, connections: ctx.settings.connections, pin: ctx.env.pinLoad, ...(env ? { env } : {}) });
  const cpu = () => measured.reduce((sum, server) => sum + server.cpuSeconds(), 0);
  return {
    label,
    counts: measured,
    warmup: async () => {
      await load(ctx.settings.warmupSeconds);
    },
    measure: async (seconds = ctx.settings.seconds): Promise<Sample> => {
      const before = cpu();
      const result = await load(seconds);
      const after = cpu();
      for (const server of measured) server.assertAlive();
      return { value: result.requestsPerSecond, cpuMicrosPerOp: ((after - before) * 1e6) / result.requests };
    },
  };
}

/** A 2025-era MCP session opened at `url` by the anchors' own mcp_session_init.sh: its id, for mcp_call_session.lua. */
export async function mcpSession(ctx: BenchContext, url: string): Promise<string> {
  const { stdout } = await run('sh', [join(ctx.env.anchors, 'mcp_session_init.sh'), url]);
  const id = stdout.trim();
  if (!id) throw new BenchError(`No MCP session could be opened at ${url}: initialize gave no Mcp-Session-Id.`);
  return id;
}

/** Run a driver script (bench/drivers) to completion and read the JSON line it prints. */
export async function driver<T>(ctx: BenchContext, script: string, args: string[], options: { pinned: boolean; env?: Record<string, string> }): Promise<T> {
  const [command, ...prefix] = [...(options.pinned ? ctx.env.pinLoad : []), ctx.env.node];
  try {
    const { stdout } = await run(command!, [...prefix, taskmeshScript(ctx.env.repoRoot, script, ctx.settings.fromSource), ...args], {
      cwd: ctx.env.repoRoot,
      env: { ...process.env, ...options.env },
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(line) as T;
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; message: string };
    throw new BenchError(`${script} ${args.join(' ')} failed: ${(failed.stderr || failed.stdout || failed.message).trim().slice(-800)}`);
  }
}

/** The median of `count` runs of `measure`: for the one-shot measurements (a launch, an RSS reading). */
export async function medianOf(count: number, measure: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(await measure());
  return median(values);
}

/**
 * RSS of a server that has started, answered a few requests and sat idle for a second: what a
 * deployed but quiet service holds.
 */
export async function idleRssKiB(start: () => Promise<{ server: ServerProcess; url: string }>, path = '/echo'): Promise<number> {
  const { server, url } = await start();
  try {
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ECHO_BODY });
      await response.arrayBuffer();
      if (!response.ok) throw new BenchError(`${server.name} answered ${response.status} to POST ${path}`);
    }
    await sleep(1_000);
    server.assertAlive();
    return server.rssKiB();
  } finally {
    await server.stop();
  }
}

export async function stopAll(servers: (ServerProcess | undefined)[]): Promise<void> {
  await Promise.all(servers.map((server) => server?.stop()));
}
