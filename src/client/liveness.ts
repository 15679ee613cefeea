/**
 * Liveness: "is the service down?", asked on a connection of its own. A pooled keep-alive socket
 * that a stopping server has just closed fails exactly like a service that is gone, while other
 * sockets of the same pool still reach that server; only a fresh connection that is refused says
 * that nothing listens at the URL any more.
 */
import type { z } from 'zod';
import { InvalidOutputError, ServiceUnreachableError, TaskmeshError } from '../errors.ts';
import { undici } from '../lazy.ts';
import { ServerStatus, builtinTasks } from '../protocol.ts';
import { toIssues } from '../task.ts';
import { sendJson } from './http.ts';

/** Failures to connect at all. Any other transport failure happened on a connection the server had accepted. */
const CANNOT_CONNECT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export type Liveness =
  | { kind: 'answered'; status: ServerStatus }
  /** The connection was refused: nothing listens there. */
  | { kind: 'refused'; error: ServiceUnreachableError }
  /** Accepted, then closed without a reply: a listener closing at that moment, or something that does not speak HTTP. */
  | { kind: 'dropped'; error: ServiceUnreachableError };

/** What one request on a connection of its own came to: the built-in's reply, or how the connection failed. */
export type Probe<T> = { kind: 'answered'; reply: T } | Exclude<Liveness, { kind: 'answered' }>;

/** The built-ins a probe asks: those that say whether, and as what (or which), a service is up. */
export type ProbedBuiltin = 'status' | 'heartbeat' | 'detailed_endpoints' | 'server_id';
type ReplyOf<N extends ProbedBuiltin> = z.infer<(typeof builtinTasks)[N]['output']>;

export interface ProbeOptions {
  timeout: number;
  signal?: AbortSignal | undefined;
}

/**
 * One request to the built-in `name` on a new connection, closed afterwards. Throws what a call
 * throws for an answer that is not that built-in's reply (an error reply, a reply of another
 * shape) and for no answer in time.
 */
export async function probe<N extends ProbedBuiltin>(url: string, name: N, options: ProbeOptions): Promise<Probe<ReplyOf<N>>> {
  const target = new URL(url);
  const connection = new (undici().Client)(target.origin);
  const timer = AbortSignal.timeout(options.timeout);
  try {
    const reply = await sendJson({
      pool: connection,
      baseUrl: url,
      basePath: target.pathname.replace(/\/$/, ''),
      // POST, which services of the reference framework accept too.
      method: 'POST',
      path: name,
      timeout: options.timeout,
      // The signal bounds the connect as well, which undici's own timeouts do not.
      signal: options.signal ? AbortSignal.any([options.signal, timer]) : timer,
      headers: { connection: 'close' },
    });
    const parsed = builtinTasks[name].output.safeParse(reply.body);
    if (!parsed.success) {
      throw new InvalidOutputError(`The reply of ${name} at ${url} is not a taskmesh ${name} (is a taskmesh service running there?).`, toIssues(parsed.error), reply.requestId);
    }
    return { kind: 'answered', reply: parsed.data as ReplyOf<N> };
  } catch (error) {
    if (!(error instanceof ServiceUnreachableError)) throw error;
    const code = (error.cause as { code?: string } | undefined)?.code;
    return { kind: code !== undefined && CANNOT_CONNECT.has(code) ? 'refused' : 'dropped', error };
  } finally {
    await connection.destroy();
  }
}

/** One `status` request on a new connection: see probe(). */
export async function probeStatus(url: string, options: ProbeOptions): Promise<Liveness> {
  const probed = await probe(url, 'status', options);
  return probed.kind === 'answered' ? { kind: 'answered', status: probed.reply.status } : probed;
}

/**
 * Probe until a fresh connection answers or is refused. A dropped connection is asked again, since
 * a closing listener drops the connections still waiting in its backlog; the third drop in a row
 * is returned: whatever listens there does not answer HTTP at all.
 */
export async function probeSettled<N extends ProbedBuiltin>(url: string, name: N, options: ProbeOptions): Promise<Probe<ReplyOf<N>>> {
  for (let attempt = 1; ; attempt += 1) {
    const probed = await probe(url, name, options);
    if (probed.kind !== 'dropped' || attempt === 3) return probed;
  }
}

/** The status at `url`, from fresh connections: Down when one is refused, or dropped three times in a row. */
export async function statusByProbe(url: string, options: ProbeOptions): Promise<ServerStatus> {
  const probed = await probeSettled(url, 'status', options);
  return probed.kind === 'answered' ? probed.reply.status : ServerStatus.Down;
}

/**
 * Whether the service is down, for `shutdown({ block: true })`: a service whose process is known
 * (started by launch() on this machine) once that process has exited; any other once a fresh
 * connection is refused. An answer of any kind, even an error, or none in time, means it is up.
 */
export async function isDown(url: string, pid: number | undefined, options: ProbeOptions): Promise<boolean> {
  if (pid !== undefined) return !processRuns(pid);
  try {
    const liveness = await probeStatus(url, options);
    return liveness.kind === 'refused' || (liveness.kind === 'answered' && liveness.status === ServerStatus.Down);
  } catch (error) {
    if (error instanceof TaskmeshError) return false;
    throw error;
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}
