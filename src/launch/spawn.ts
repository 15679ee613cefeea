/**
 * The launching side: spawn the launched process (its own process group, output to its log file),
 * hand it its spec over IPC, and wait for it to say it serves, or to fail, exit or time out. Any
 * failure leaves no process behind and is reported with the exit code and the tail of the log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, LaunchError, type LaunchFailureStage } from '../errors.ts';
import { ADMIN_TOKEN_ENV } from '../protocol.ts';
import { forget, signalGroup, stopOnExit } from './cleanup.ts';
import { removeStalePidFile, tailOf } from './files.ts';
import { isMessage, type ChildMessage, type LaunchSpec, type ParentMessage } from './messages.ts';
import { progressLine } from './progress.ts';

export interface SpawnRequest {
  spec: LaunchSpec;
  /** The class (or export) name, for messages. */
  label: string;
  logFile: string;
  block: boolean;
  timeout: number;
  progress: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves once the process has exited (and, with `block`, its output is in the log). */
  exited: Promise<Exit>;
  /** Resolves once the spec is written to the IPC channel. */
  specSent: Promise<void>;
  spawnError?: Error;
}

export interface ReadyProcess extends SpawnedProcess {
  url: string;
  serverId: string;
}

/** How often the wait checks the clock and redraws the spinner; readiness itself is a message. */
const TICK_MS = 25;
/** After a reported failure, how long the process may take to exit before it is killed. */
const EXIT_GRACE_MS = 2_000;

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}

function childEntry(): string {
  // From the sources this module is launch/spawn.ts and the entry child.ts; from dist, both are .js.
  return fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url));
}

/**
 * The launcher's flags that are about its own run, not how to run code: the code `node -e` or `-p`
 * evaluates (which the child would run again, launching again, and so on), a REPL, a syntax check,
 * a test runner or a watcher, and a debugger port, which the child could not bind a second time.
 */
const OWN_RUN = /^(-e|--eval|-p|--print|--input-type|-i|--interactive|-c|--check|--test(-[\w-]+)?|--watch(-[\w-]+)?|--inspect(-[\w-]+)?|--debug(-[\w-]+)?)$/;
/** Those of them that take a value, which follows as the next argument unless given with `=`. */
const OWN_RUN_VALUE = /^(-e|--eval|-p|--print|--input-type|--watch-path|--test-(name-pattern|skip-pattern|reporter|reporter-destination|shard|concurrency|timeout|isolation|coverage-include|coverage-exclude|global-setup))$/;

export function childExecArgv(moduleUrl: string, execArgv: readonly string[] = process.execArgv): string[] {
  // Like child_process.fork, keep the launcher's flags (loaders, conditions, memory limits), but
  // not those of its own run.
  const argv: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    const name = flag.split('=', 1)[0]!;
    if (!OWN_RUN.test(name)) argv.push(flag);
    else if (name === flag && OWN_RUN_VALUE.test(name)) i += 1;
  }
  const typescript = (process.features as { typescript?: string | false }).typescript;
  if (/\.[mc]?ts$/.test(new URL(moduleUrl).pathname) && !typescript && !argv.includes('--experimental-strip-types')) {
    argv.push('--experimental-strip-types'); // Node 22.12 to 22.17 strip types only on request
  }
  return argv;
}

/** Why a process could not be made, and what to do about it. */
function spawnFailure(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const cause = message ?? 'unknown error';
  switch (code) {
    case 'E2BIG':
      return `${cause}: the environment it inherits is too large for a new process (one variable over 128 KiB, or about 2 MiB in all); unset or shorten large environment variables`;
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
      return `${cause}: this system is out of processes or open files for now; close some, or raise the limits (ulimit -u, ulimit -n)`;
    case 'ENOENT':
    case 'EACCES':
      return `${cause}: Node's executable (${process.execPath}) cannot be run; reinstall Node or check the file's permissions`;
    default:
      return cause;
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // The admin token goes over IPC, so that it is not in the child's environment for `ps e` to show.
  const env = { ...process.env };
  delete env[ADMIN_TOKEN_ENV];
  return env;
}

export function spawnService(request: SpawnRequest): SpawnedProcess {
  const logFd = openSync(request.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...childExecArgv(request.spec.moduleUrl), childEntry()], {
      // Its own process group: one signal reaches cluster workers too, and Ctrl-C on the terminal
      // reaches only the launcher, which decides what happens to the service.
      detached: true,
      env: childEnv(),
      stdio: request.block ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', logFd, logFd, 'ipc'],
    });
  } catch (error) {
    closeSync(logFd);
    throw launchError(request, 'spawn', `it could not be spawned: ${spawnFailure(error)}`, { code: null, signal: null }, error);
  }
  let teeDone: Promise<void> = Promise.resolve();
  if (request.block) teeDone = teeOutput(child, logFd);
  else closeSync(logFd);
  const spawned: SpawnedProcess = { child, pid: child.pid ?? -1, exited: Promise.resolve({ code: null, signal: null }), specSent: Promise.resolve() };
  spawned.exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => void teeDone.then(() => resolve({ code, signal })));
    // Also a failed send to a process that just died: never let that one throw.
    child.on('error', (error) => {
      spawned.spawnError ??= error;
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  if (child.pid === undefined) return spawned;
  const pid = child.pid;
  // A blocking launcher forwards signals itself; a dying one closes the IPC channel, which stops the service.
  if (!request.spec.detached && !request.block) stopOnExit(pid);
  void spawned.exited.then(() => forget(pid));
  spawned.specSent = new Promise((resolve) => child.send({ type: 'spec', spec: request.spec } satisfies ParentMessage, () => resolve()));
  return spawned;
}

/** With `block`, the service's output goes to this terminal's stderr as well as to its log file. */
function teeOutput(child: ChildProcess, logFd: number): Promise<void> {
  const log = createWriteStream('', { fd: logFd, flags: 'a' });
  let open = 2;
  return new Promise((resolve) => {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        process.stderr.write(chunk);
      });
      stream?.once('close', () => {
        if (--open === 0) log.end(() => resolve());
      });
    }
  });
}

/** Wait for the ready message. Rejects with a LaunchError after making sure the process group is gone. */
export async function waitUntilReady(request: SpawnRequest, spawned: SpawnedProcess): Promise<ReadyProcess> {
  const { child, pid } = spawned;
  if (pid === -1) {
    const exit = await spawned.exited;
    throw launchError(request, 'spawn', `it could not be spawned: ${spawnFailure(spawned.spawnError)}`, exit, spawned.spawnError);
  }
  const progress = progressLine(`Launching ${request.label} at ${request.spec.url}`, request.progress);
  let failure: Extract<ChildMessage, { type: 'failed' }> | undefined;
  let cleanup = (): void => {};
  const outcome = await new Promise<{ ready: Extract<ChildMessage, { type: 'ready' }> } | { exit: Exit } | { timeout: true }>((resolve) => {
    const deadline = Date.now() + request.timeout;
    const onMessage = (message: unknown): void => {
      if (!isMessage<ChildMessage>(message)) return;
      if (message.type === 'ready') resolve({ ready: message });
      else if (message.type === 'failed') failure = message;
    };
    const timer = setInterval(() => {
      progress.tick();
      if (Date.now() > deadline) resolve({ timeout: true });
    }, TICK_MS);
    child.on('message', onMessage);
    void spawned.exited.then((exit) => resolve({ exit }));
    cleanup = () => {
      clearInterval(timer);
      child.off('message', onMessage);
      progress.done();
    };
  });
  cleanup();
  if ('ready' in outcome) {
    return { ...spawned, url: outcome.ready.url, serverId: outcome.ready.serverId };
  }
  if ('timeout' in outcome) {
    const exit = await stopGroup(spawned, request, 0);
    throw launchError(request, 'timeout', `it did not serve within ${request.timeout} ms (still importing, constructing or in onStartup); it was stopped. Raise \`timeout\` if it needs longer`, exit, undefined, ErrorCodes.TIMEOUT);
  }
  // The failure report may still be in the channel when the exit is seen: read it first.
  if (!failure && child.connected) await Promise.race([once(child, 'disconnect'), delay(500)]);
  const exit = await stopGroup(spawned, request, failure ? EXIT_GRACE_MS : 0);
  if (failure) throw launchError(request, failure.stage, failure.message, exit);
  throw launchError(request, 'exit', 'its process exited before it served', exit);
}

/**
 * Make sure the process group is gone: wait up to `graceMs` for it to exit by itself, then kill it.
 * Removes a pid file the killed process may have left.
 */
export async function stopGroup(spawned: SpawnedProcess, request: SpawnRequest, graceMs: number): Promise<Exit & { pid: number }> {
  const exitedInTime = await Promise.race([spawned.exited, delay(graceMs)]);
  // The group too: cluster workers of a primary that already exited would otherwise be left.
  signalGroup(spawned.pid, 'SIGKILL');
  const exit = exitedInTime ?? (await spawned.exited);
  forget(spawned.pid);
  removeStalePidFile(request.spec.pidFile, [spawned.pid]);
  return { ...exit, pid: spawned.pid };
}

export function launchError(request: SpawnRequest, stage: LaunchFailureStage, cause: string, exit: Exit & { pid?: number }, error?: unknown, code?: typeof ErrorCodes.TIMEOUT): LaunchError {
  return failedService(`${request.label} failed to launch at ${request.spec.url}: ${cause.replace(/\.$/, '')}.`, request, stage, exit, error, code);
}

/** A LaunchError whose message ends with how the process ended and the last lines of its log. */
export function failedService(lead: string, request: SpawnRequest, stage: LaunchFailureStage, exit: Exit & { pid?: number }, error?: unknown, code?: typeof ErrorCodes.TIMEOUT): LaunchError {
  const tail = tailOf(request.logFile);
  const pid = exit.pid !== undefined && exit.pid > 0 ? ` (pid ${exit.pid})` : '';
  const how = exit.signal ? `was killed by ${exit.signal}` : exit.code === null ? 'did not start' : `exited with code ${exit.code}`;
  // With `block`, its output is already on the terminal, right above this message.
  const where = request.block
    ? ` Its output is above, and in ${request.logFile}.`
    : tail
      ? `\nLast lines of its log (${request.logFile}):\n${tail}`
      : `\nIts log file (${request.logFile}) is empty.`;
  const message = `${lead} Its process${pid} ${how}.${where}`;
  return new LaunchError(message, {
    stage,
    pid: exit.pid,
    exitCode: exit.code,
    signal: exit.signal,
    logFile: request.logFile,
    logTail: tail,
    ...(code ? { code } : {}),
    ...(error ? { cause: error } : {}),
  });
}
