/**
 * The servers under load: spawned in their own process group (pinned to a core when taskset is
 * there), their output sent to a log file as a deployment would, awaited until they answer, and
 * always stopped, group and all, even when the harness itself is interrupted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { BenchError } from './errors.ts';

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  /** Command prefix that pins the server to a core (`taskset -c 0`), or none. */
  pin: string[];
  /** stdout and stderr go here: a file or /dev/null, never a terminal. */
  logFile: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Resolves true once the server answers as it should. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resident set size in KiB, from /proc. */
  rssKiB(): number;
  /** CPU time used so far (user + system), in seconds, from /proc. */
  cpuSeconds(): number;
  /** Throws when the server has died since it started (a crash under load must not pass unnoticed). */
  assertAlive(): void;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

const killAll = (): void => {
  for (const child of live) killGroup(child, 'SIGKILL');
};
// Whatever ends the harness, no server outlives it.
process.once('exit', killAll);

/**
 * For the harness's entry: a stop signal (Ctrl-C, SIGTERM, a closed terminal) ends the run and
 * its servers too. They run in process groups of their own, so no terminal signal reaches them,
 * and a process that dies of a signal gets no 'exit' event.
 */
export function stopServersOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export function procRssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new BenchError(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const out = openSync(spec.logFile, 'a');
  const [command, ...prefix] = [...spec.pin, spec.command];
  let child: ChildProcess;
  try {
    child = spawn(command!, [...prefix, ...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
  live.add(child);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));

  const stop = async (): Promise<void> => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const gone = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;
  const died = () =>
    new BenchError(
      `${spec.name} (${[spec.command, ...spec.args].join(' ')}) exited` +
        `${spawnError ? `: ${spawnError.message}` : ` with ${child.exitCode ?? child.signalCode}`}. Its log (${spec.logFile}):\n${logTail(spec.logFile)}`,
    );

  const deadline = Date.now() + (spec.timeoutMs ?? 30_000);
  for (;;) {
    if (gone()) throw died();
    if (await spec.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new BenchError(`${spec.name} did not answer within ${spec.timeoutMs ?? 30_000} ms. Its log (${spec.logFile}):\n${logTail(spec.logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const pid = child.pid!;
  return {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    rssKiB: () => procRssKiB(pid),
    cpuSeconds: () => procCpuSeconds(pid),
    assertAlive: () => {
      if (gone()) throw died();
    },
    stop,
  };
}

/** Ready when a request gets a 2xx reply; connection refused and the like are "not yet". */
export function answers(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): () => Promise<boolean> {
  return async () => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  };
}
