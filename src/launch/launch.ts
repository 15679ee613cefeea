/**
 * launch(): serve a service in a process of its own and return its client once it answers.
 * `Service.launch()` delegates here; `launch('module.ts#Export')` is the same for a module path
 * (what `taskmesh launch` uses).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildUrl } from '../config.ts';
import { DefinitionError, ErrorCodes, TaskmeshError } from '../errors.ts';
import { ADMIN_TOKEN_ENV, ServerStatus } from '../protocol.ts';
import { connect, statusAtHost } from '../client/connect.ts';
import type { ConnectionManagerClass, DynamicClient } from '../client/connection-manager.ts';
import type { AnyContract } from '../task.ts';
import { signalGroup } from './cleanup.ts';
import { launchFiles } from './files.ts';
import { interceptLaunch } from './intercept.ts';
import type { LaunchSpec } from './messages.ts';
import { splitLaunchOptions, type LaunchOptions } from './options.ts';
import { failedService, launchError, spawnService, stopGroup, waitUntilReady, type Exit, type SpawnRequest, type SpawnedProcess } from './spawn.ts';

const DEFAULT_TIMEOUT_MS = 60_000;

interface Target {
  moduleUrl: string;
  exportName?: string | undefined;
  /** The class's own name: finds it in the module, and picks its default URL. */
  className?: string | undefined;
  /** For messages and file names. */
  label: string;
  contract?: AnyContract | undefined;
  connectionManager?: ConnectionManagerClass | undefined;
  /** The class itself, when launched as `Class.launch()`. */
  cls?: LaunchableService | undefined;
}

/** The parts of a Service class that launch() uses. */
export interface LaunchableService {
  readonly name: string;
  readonly moduleUrl: string | undefined;
  readonly contract: AnyContract;
  readonly connectionManager: ConnectionManagerClass | undefined;
}

export function launchService(cls: LaunchableService, options: Record<string, unknown> = {}): Promise<unknown> {
  if (!cls.moduleUrl) {
    throw new DefinitionError(
      `${cls.name} cannot be launched: the launched process imports the class's module, and ${cls.name} does not say which. Build it with Service.for(contract, import.meta.url), or add \`static override moduleUrl = import.meta.url\` to the class.`,
    );
  }
  return run({ moduleUrl: cls.moduleUrl, className: cls.name, label: cls.name, contract: cls.contract, connectionManager: cls.connectionManager, cls }, options);
}

/**
 * Launch the service exported from a module: `'./src/echo.service.ts#EchoService'` (relative to the
 * working directory, or a file: URL). Without `#Export`, the module's only Service export.
 * The client's methods come from the service's `detailed_endpoints`.
 */
export function launch(target: string, options: LaunchOptions & { waitForLaunch: false }): Promise<void>;
export function launch(target: string, options: LaunchOptions & { block: true }): Promise<void>;
export function launch(target: string, options?: LaunchOptions & Record<string, unknown>): Promise<DynamicClient>;
export function launch(target: string, options: object = {}): Promise<unknown> {
  const hash = target.lastIndexOf('#');
  const modulePart = hash === -1 ? target : target.slice(0, hash);
  const exportName = hash === -1 ? undefined : target.slice(hash + 1) || undefined;
  const moduleUrl = /^[a-z][a-z\d+.-]+:/i.test(modulePart) ? modulePart : pathToFileURL(isAbsolute(modulePart) ? modulePart : resolve(modulePart)).href;
  return run({ moduleUrl, exportName, label: exportName ?? modulePart.replace(/^.*[/\\]/, '').replace(/\.[^.]+$/, '') }, options as Record<string, unknown>);
}

async function run(target: Target, options: Record<string, unknown>): Promise<unknown> {
  const verdict = interceptLaunch(target.cls ?? { name: target.exportName ?? '', moduleUrl: target.moduleUrl });
  // This process was launched to serve this very class: the launcher takes it from here.
  if (verdict === 'target') return new Promise(() => {});
  if (verdict === 'other') {
    throw new DefinitionError(
      `${target.label} is launched at the top level of a module that a launched process imports for another service, so every launch would launch it again. Guard launching code with \`if (import.meta.main)\`, or move it to a script of its own.`,
    );
  }
  const { launch: opts, init } = splitLaunchOptions(options);
  const url = buildUrl(opts, target.className);
  if (new URL(url).port !== '0') await refuseBusyUrl(url, target.label);
  const files = launchFiles(target.label, opts);
  const detached = opts.detached ?? false;
  const block = opts.block ?? false;
  const token = opts.adminToken ?? (process.env[ADMIN_TOKEN_ENV] || undefined);
  const spec: LaunchSpec = {
    moduleUrl: target.moduleUrl,
    exportName: target.exportName,
    className: target.className,
    url,
    numWorkers: opts.numWorkers ?? 1,
    init,
    pidFile: files.pidFile,
    adminToken: token,
    detached,
  };
  // With `block` the service's own output is on the terminal, and a spinner would garble it.
  const request: SpawnRequest = { spec, label: target.label, logFile: files.logFile, block, timeout: opts.timeout ?? DEFAULT_TIMEOUT_MS, progress: (opts.progress ?? true) && !block };
  const spawned = spawnService(request);
  // A blocking launcher stands for the service from the start: Ctrl-C stops it, even while it starts.
  const forwarding = block ? forwardSignals(spawned) : undefined;
  try {
    return await finishLaunch(target, opts, request, spawned, forwarding);
  } finally {
    forwarding?.stop();
  }
}

async function finishLaunch(
  target: Target,
  opts: LaunchOptions,
  request: SpawnRequest,
  spawned: SpawnedProcess,
  forwarding: Forwarding | undefined,
): Promise<unknown> {
  const { detached, adminToken: token } = request.spec;
  const { block } = request;
  const files = { logFile: request.logFile, pidFile: request.spec.pidFile };
  if (opts.waitForLaunch === false && !block) {
    await release(spawned, detached);
    return undefined;
  }
  let ready;
  try {
    ready = await waitUntilReady(request, spawned);
  } catch (error) {
    // Ctrl-C (or SIGTERM, SIGHUP) while it started: the service stopped as asked, nothing failed.
    if ((forwarding?.count ?? 0) > 0) return undefined;
    throw error;
  }
  let client;
  try {
    // One request that the service really answers at the URL it reported; this also learns its server id.
    client = await connect(ready.url, target.contract as AnyContract, {
      connectionManager: target.connectionManager,
      token,
      shutdownOnDispose: !detached && !block,
      logFile: files.logFile,
      pid: ready.pid,
      terminate: () => void signalGroup(spawned.pid, 'SIGTERM'),
    });
  } catch (error) {
    const exit = await stopGroup(spawned, request, 0);
    throw launchError(request, 'verify', `it reported serving at ${ready.url}, but does not answer there (${(error as Error).message})`, exit, error);
  }
  try {
    opts.onReady?.({ url: ready.url, pid: ready.pid, serverId: ready.serverId, logFile: files.logFile, pidFile: files.pidFile });
  } catch (error) {
    await client.close().catch(() => {});
    await stopGroup(spawned, request, 0);
    throw error;
  }
  if (block) {
    await client.close();
    await untilStopped(spawned, request, ready.url, forwarding);
    return undefined;
  }
  await release(spawned, detached);
  return client;
}

async function refuseBusyUrl(url: string, label: string): Promise<void> {
  let what: string | undefined;
  try {
    const status = await statusAtHost(url, { timeout: 2_000 });
    if (status !== ServerStatus.Down) what = `a service already answers there (status ${status})`;
  } catch (error) {
    what = `something already answers there (${(error as Error).message})`;
  }
  if (what) {
    throw new TaskmeshError(
      ErrorCodes.PORT_IN_USE,
      `Cannot launch ${label} at ${url}: ${what}. Stop it (\`taskmesh shutdown ${url}\`), connect to it instead, or choose another port (port 0 picks a free one).`,
    );
  }
}

/** Let the launcher exit without waiting on the service. A detached service also loses its link to the launcher. */
async function release(spawned: SpawnedProcess, detached: boolean): Promise<void> {
  const { child } = spawned;
  if (detached) {
    await spawned.specSent;
    if (child.connected) child.disconnect();
  } else {
    // Kept open but unref'd: when the launcher dies, even by SIGKILL, the service sees it close and stops.
    child.channel?.unref();
  }
  child.unref();
}

interface Forwarding {
  /** How many signals were passed on to the service. */
  readonly count: number;
  stop(): void;
}

/**
 * `block: true`: SIGINT, SIGTERM and SIGHUP of the launcher ask the service to stop gracefully; a
 * second one kills it.
 */
function forwardSignals(spawned: SpawnedProcess): Forwarding {
  let count = 0;
  const forward = (): void => {
    count += 1;
    signalGroup(spawned.pid, count === 1 ? 'SIGTERM' : 'SIGKILL');
  };
  const names = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const name of names) process.on(name, forward);
  return {
    get count() {
      return count;
    },
    stop() {
      for (const name of names) process.off(name, forward);
    },
  };
}

/** `block: true`: wait until the service stops; an end the launcher did not ask for is an error. */
async function untilStopped(spawned: SpawnedProcess, request: SpawnRequest, url: string, forwarding: Forwarding | undefined): Promise<void> {
  const exit: Exit = await spawned.exited;
  if (exit.code === 0 || (exit.signal !== null && (forwarding?.count ?? 0) > 0)) return;
  throw failedService(`${request.label} at ${url} stopped unexpectedly.`, request, 'exit', { ...exit, pid: spawned.pid });
}
