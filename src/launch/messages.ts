/**
 * What the launching process and the launched one say to each other over the IPC channel. Init
 * options and the admin token travel here, not in argv or the environment, so `ps` never shows them.
 * Type-only on purpose: the child imports nothing heavy before it imports the user's module.
 */

/** Everything the child needs to serve one service; sent once, right after the spawn. */
export interface LaunchSpec {
  /** The module that defines the service class (a file: URL). */
  moduleUrl: string;
  /** The export to serve; found by class name (or the only Service export) when absent. */
  exportName?: string | undefined;
  /** The class's own name, to find it when it is not exported under that name. */
  className?: string | undefined;
  /** Where to serve; port 0 picks a free port. */
  url: string;
  numWorkers: number;
  /** The JSON-serializable init options, passed to the constructor. */
  init: Record<string, unknown>;
  pidFile: string;
  adminToken?: string | undefined;
  /** A detached service outlives its launcher; an attached one stops when the launcher goes away. */
  detached: boolean;
}

/** The stage a launch failed in, so the parent can name the cause. */
export type LaunchStage = 'import' | 'export' | 'construct' | 'start' | 'onStartup' | 'worker';

export type ChildMessage =
  | { type: 'ready'; url: string; serverId: string; pid: number }
  | { type: 'failed'; stage: LaunchStage; message: string; code?: string | undefined; stack?: string | undefined };

export type ParentMessage = { type: 'spec'; spec: LaunchSpec };

/** Between a cluster primary and its workers. */
export type WorkerMessage =
  | ChildMessage
  /** A worker's service went Down (its shutdown endpoint was called): stop the whole group. */
  | { type: 'group-shutdown' };

export type PrimaryMessage = {
  type: 'spec';
  spec: LaunchSpec;
  serverId: string;
  /** Signs the 2025-era MCP session ids of every worker alike. */
  mcpSessionSecret: string;
};

/** Set in the environment of cluster workers, which run the same entry as the primary. */
export const WORKER_ROLE_ENV = 'TASKMESH_LAUNCH_ROLE';

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
