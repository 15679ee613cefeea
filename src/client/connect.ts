/** connect(): a client of a running service, typed from a contract or built from `detailed_endpoints`. */
import { normalizeUrl } from '../config.ts';
import type { ServerStatus } from '../protocol.ts';
import type { AnyContract } from '../task.ts';
import { statusByProbe } from './liveness.ts';
import { ConnectionManager, type Client, type ClientInit, type ConnectionManagerClass, type DynamicClient } from './connection-manager.ts';

export interface ConnectOptions {
  /** The client class to build (a subclass of ConnectionManager). */
  connectionManager?: ConnectionManagerClass | undefined;
  /** Admin token for admin endpoints such as shutdown; defaults to TASKMESH_ADMIN_TOKEN. */
  token?: string;
  /** Default timeout of each call, in ms (60 s). */
  timeout?: number;
  /** Headers sent with every request of the client: the credentials a `configureApp` hook of the service checks, say. */
  headers?: Record<string, string>;
  /** Shut the service down when the client is disposed. */
  shutdownOnDispose?: boolean;
  /** Set by launch(): shown by the client as `logFile` and `pid`. */
  logFile?: string;
  pid?: number;
  /** Set by launch(): stops the service's processes with a signal when disposing finds its shutdown call refused. */
  terminate?: () => void;
}

function clientInit(url: string, options: ConnectOptions): ClientInit {
  return {
    url: normalizeUrl(url),
    token: options.token,
    timeout: options.timeout,
    headers: options.headers,
    shutdownOnDispose: options.shutdownOnDispose,
    logFile: options.logFile,
    pid: options.pid,
    terminate: options.terminate,
  };
}

/**
 * With a contract: a typed client; one heartbeat checks that the service answers and learns its
 * server id. Without: one request to `detailed_endpoints` gives the methods and their input schemas.
 * Throws ServiceUnreachableError naming the URL when nothing answers.
 */
export async function connect<C extends AnyContract>(url: string, contract: C, options?: ConnectOptions): Promise<Client<C>>;
export async function connect(url: string, contract?: undefined, options?: ConnectOptions): Promise<DynamicClient>;
export async function connect(url: string, contract?: AnyContract, options: ConnectOptions = {}): Promise<unknown> {
  const Manager = (options.connectionManager ?? ConnectionManager) as ConnectionManagerClass;
  if (contract) {
    const client = new Manager({ ...clientInit(url, options), contract });
    try {
      client.serverId = (await client.heartbeat()).server_id;
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }
  // The probe only reads: closing it must never shut the service down.
  const probe = new ConnectionManager({ ...clientInit(url, options), shutdownOnDispose: false });
  let details;
  let serverId;
  try {
    [details, serverId] = await Promise.all([probe.detailedEndpoints(), probe.heartbeat().then((h) => h.server_id)]);
  } finally {
    await probe.close();
  }
  return new Manager({ ...clientInit(url, options), details, serverId });
}

/**
 * The status of the service at `url`, or Down when nothing answers there. Asked on a connection of
 * its own: a socket of a pool shared with other clients may be one the service closed as it stopped.
 */
export function statusAtHost(url: string, options: { timeout?: number } = {}): Promise<ServerStatus> {
  return statusByProbe(normalizeUrl(url), { timeout: options.timeout ?? 5_000 });
}
