import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { killGroup } from './processes.ts';

export const bin = fileURLToPath(new URL('../../bin/taskmesh.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<CliResult>;
}

/** Start `taskmesh <args>` as a real process, in its own process group (killed by stopCli). */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const done = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Run `taskmesh <args>` to the end; a run that outlives `timeoutMs` is killed. */
export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const run = startCli(args, options);
  const timer = setTimeout(() => stopCli(run), options.timeoutMs ?? 30_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

export function stopCli(run: CliRun): void {
  if (run.child.pid) killGroup(run.child.pid);
}
