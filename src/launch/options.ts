/**
 * The options of launch(): the ones that steer the launch, and everything else, which is the init
 * options of the service and must survive a trip through JSON to the child process.
 */
import { ConfigError } from '../errors.ts';
import type { UrlParts } from '../config.ts';

export interface LaunchOptions extends UrlParts {
  /**
   * Wait on the service until it stops (Ctrl-C stops it), with its logs on this terminal's stderr
   * as well as in its log file. `launch()` then resolves once the service is down.
   */
  block?: boolean;
  /** Worker processes serving one port (node cluster); 1 by default. */
  numWorkers?: number;
  /** false: return as soon as the process is spawned, without a client. */
  waitForLaunch?: boolean;
  /** Milliseconds to wait for the service to answer (60 s). */
  timeout?: number;
  /** A spinner on stderr while waiting; only ever shown when stderr is a terminal, and not with `block`. Default true. */
  progress?: boolean;
  /** Let the service outlive the launching process. By default it is stopped when the launcher exits. */
  detached?: boolean;
  /** Folder of the log file; `settings().logDir` (TASKMESH_LOG_DIR) by default. */
  logDir?: string;
  /** Exact path of the log file, instead of a new file in `logDir`. */
  logFile?: string;
  /** Admin token of the service, handed over out of sight (never argv or the environment); defaults to TASKMESH_ADMIN_TOKEN. */
  adminToken?: string;
  /** Where the service writes its pid; a new file in `settings().pidDir` (TASKMESH_PID_DIR) by default. */
  pidFile?: string;
  /** Called once the service answers, before launch() resolves: with `block: true`, the way to learn its URL. */
  onReady?: (service: LaunchedService) => void;
}

/** Where a launched service serves, and its files. */
export interface LaunchedService {
  url: string;
  /** The service's process (the cluster primary with workers), leader of its process group. */
  pid: number;
  serverId: string;
  logFile: string;
  pidFile: string;
}

type InitOf<S> = S extends abstract new (...args: infer A) => unknown ? NonNullable<A[0]> : Record<string, unknown>;

/** launch() options of a service class: the launch options plus its constructor's options. */
export type LaunchOptionsFor<S> = LaunchOptions & ([InitOf<S>] extends [never] ? unknown : Omit<InitOf<S>, keyof LaunchOptions>);

const launchKeys = ['url', 'host', 'port', 'block', 'numWorkers', 'waitForLaunch', 'timeout', 'progress', 'detached', 'logDir', 'logFile', 'adminToken', 'pidFile', 'onReady'] as const;

/** Split launch() options into the launch's own and the service's init options (everything else). */
export function splitLaunchOptions(options: Record<string, unknown>): { launch: LaunchOptions; init: Record<string, unknown> } {
  const launch: Record<string, unknown> = {};
  const init: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if ((launchKeys as readonly string[]).includes(key)) launch[key] = value;
    else init[key] = value;
  }
  checkLaunchOptions(launch as LaunchOptions);
  assertJsonSerializable(init);
  return { launch: launch as LaunchOptions, init };
}

function checkLaunchOptions(options: LaunchOptions): void {
  const { numWorkers, timeout, onReady } = options;
  if (onReady !== undefined && typeof onReady !== 'function') throw new ConfigError('onReady must be a function.');
  if (numWorkers !== undefined && (!Number.isInteger(numWorkers) || numWorkers < 1)) {
    throw new ConfigError(`numWorkers must be a whole number of at least 1, got ${String(numWorkers)}.`);
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw new ConfigError(`timeout is in milliseconds and must be above 0, got ${String(timeout)}.`);
  }
}

const plainData = 'pass plain data (strings, finite numbers, booleans, null, arrays and plain objects)';

/**
 * Refuse, before anything is spawned, an init option that JSON would change or drop on the way to
 * the child: a function, a class instance, a Date, a Map, NaN, a bigint, a cycle. The message
 * names the option's path.
 */
export function assertJsonSerializable(init: Record<string, unknown>): void {
  const seen = new Set<object>();
  const visit = (value: unknown, path: string): void => {
    const refuse = (what: string): never => {
      throw new ConfigError(`The init option \`${path}\` is ${what}; a launched service gets its init options as JSON in another process, so ${plainData}. Build anything else inside the service (in its constructor or onStartup).`);
    };
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) refuse(`${value}, which JSON cannot carry`);
      return;
    }
    if (typeof value !== 'object') refuse(`a ${typeof value}`);
    const object = value as object;
    if (seen.has(object)) refuse('part of a cycle');
    seen.add(object);
    if (Array.isArray(object)) {
      object.forEach((item, index) => {
        if (item === undefined) refuse(`undefined at index ${index}`);
        visit(item, `${path}[${index}]`);
      });
    } else {
      const proto = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) refuse(`a ${proto?.constructor?.name ?? 'class'} instance`);
      for (const [key, item] of Object.entries(object)) {
        if (item !== undefined) visit(item, `${path}.${key}`);
      }
    }
    seen.delete(object);
  };
  for (const [key, value] of Object.entries(init)) {
    if (value !== undefined) visit(value, key);
  }
}
