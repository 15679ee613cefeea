/**
 * In the launched process (or in each cluster worker): find the class, construct it, start it, and
 * tell the launcher how it went. Failures are printed to stderr (so they are in the log file) and
 * reported with their stage before the process exits.
 */
import { resolveServiceClass, StageError, type ServiceInstance } from './resolve.ts';
import type { ChildMessage, LaunchSpec } from './messages.ts';

const ADMIN_TOKEN_ENV = 'TASKMESH_ADMIN_TOKEN';

export interface ServeOptions {
  /** Shared by every worker of a cluster; a random one otherwise. */
  serverId?: string | undefined;
  /** Cluster workers leave the pid file to the primary. */
  writePidFile?: boolean;
}

export async function startService(spec: LaunchSpec, options: ServeOptions = {}): Promise<{ service: ServiceInstance; url: string }> {
  // In memory only: the service and its admin guard read it here, and `ps e` does not show it.
  if (spec.adminToken) process.env[ADMIN_TOKEN_ENV] = spec.adminToken;
  const Cls = await resolveServiceClass(spec);
  let service: ServiceInstance;
  try {
    service = new Cls({
      ...spec.init,
      url: spec.url,
      pidFile: spec.pidFile,
      ...(options.serverId ? { serverId: options.serverId } : {}),
      ...(options.writePidFile === false ? { writePidFile: false } : {}),
    });
  } catch (error) {
    throw new StageError('construct', `the constructor of ${Cls.name} threw: ${messageOf(error)}`, error);
  }
  let inOnStartup = false;
  const onStartup = service.onStartup;
  service.onStartup = function (this: ServiceInstance) {
    inOnStartup = true;
    return onStartup.call(this);
  };
  try {
    const url = await service.start();
    return { service, url };
  } catch (error) {
    const what = inOnStartup ? `onStartup of ${Cls.name} threw` : `${Cls.name} could not start`;
    throw new StageError(inOnStartup ? 'onStartup' : 'start', `${what}: ${messageOf(error)}`, error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Print the failure for the log and turn it into the message for the launcher. */
export function failureMessage(error: unknown): Extract<ChildMessage, { type: 'failed' }> {
  const stageError = error instanceof StageError ? error : new StageError('start', messageOf(error), error);
  const cause = stageError.cause instanceof Error ? stageError.cause : undefined;
  process.stderr.write(`taskmesh launch failed (${stageError.stage}): ${stageError.message}\n${cause?.stack ? `${cause.stack}\n` : ''}`);
  return { type: 'failed', stage: stageError.stage, message: stageError.message, code: stageError.code, stack: cause?.stack };
}

/** Send over IPC (when there is a channel), then call back; never throws. */
export function sendThen(message: unknown, then: () => void): void {
  if (!process.send || !process.connected) return then();
  try {
    process.send(message, undefined, {}, () => then());
  } catch {
    then();
  }
}
