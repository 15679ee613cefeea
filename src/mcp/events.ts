/**
 * Change events (tools, resources, prompts changed; a resource updated) and session closings,
 * delivered to every process that serves the service. In one process they are delivered in place;
 * in a node cluster (`numWorkers > 1`) each worker also sends them to the primary, which passes
 * them to the other workers (`relayMcpSignal`); across replicas, a `ServerEventBus` given as the
 * `mcp.events` option (over Redis, say) carries the change events instead, and the session
 * closings too when it can (`SessionClosings`, as `redisEventBus` does).
 */
import cluster, { type Worker } from 'node:cluster';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';

/** The IPC message type of MCP signals between cluster workers and their primary. */
export const MCP_SIGNAL = 'taskmesh:mcp-signal';

type Signal = { kind: 'event'; event: ServerEvent } | { kind: 'session-closed'; id: string; until: number };
type IpcMessage = { type: typeof MCP_SIGNAL; signal: Signal };

function isIpcMessage(message: unknown): message is IpcMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === MCP_SIGNAL;
}

/** In a cluster primary: pass an MCP signal from one worker to all the others. True when `message` was one. */
export function relayMcpSignal(from: Worker, message: unknown): boolean {
  if (!isIpcMessage(message)) return false;
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker && worker !== from && worker.isConnected()) worker.send(message);
  }
  return true;
}

/** What a bus between replicas offers to carry the end of 2025-era sessions too. */
export interface SessionClosings {
  publishSessionClosed(id: string, until: number): void;
  onSessionClosed(listener: (id: string, until: number) => void): () => void;
}

function carriesSessionClosings(bus: ServerEventBus | undefined): bus is ServerEventBus & SessionClosings {
  return typeof (bus as Partial<SessionClosings> | undefined)?.publishSessionClosed === 'function' && typeof (bus as Partial<SessionClosings>).onSessionClosed === 'function';
}

export class McpBus implements ServerEventBus {
  readonly #listeners = new Set<(event: ServerEvent) => void>();
  readonly #sessionListeners = new Set<(id: string, until: number) => void>();
  readonly #external: ServerEventBus | undefined;
  readonly #cleanups: (() => void)[] = [];
  readonly #onError: (error: Error) => void;

  constructor(options: { external?: ServerEventBus | undefined; onError: (error: Error) => void }) {
    this.#external = options.external;
    this.#onError = options.onError;
    if (this.#external) this.#cleanups.push(this.#external.subscribe((event) => this.#deliver(event)));
    if (carriesSessionClosings(this.#external)) this.#cleanups.push(this.#external.onSessionClosed((id, until) => this.#deliverSessionClosed(id, until)));
    if (cluster.isWorker && process.send) {
      const onMessage = (message: unknown): void => {
        if (!isIpcMessage(message)) return;
        if (message.signal.kind === 'event') {
          if (!this.#external) this.#deliver(message.signal.event);
        } else this.#deliverSessionClosed(message.signal.id, message.signal.until);
      };
      process.on('message', onMessage);
      this.#cleanups.push(() => process.off('message', onMessage));
    }
  }

  publish(event: ServerEvent): void {
    // An external bus delivers to every subscriber, this process included.
    if (this.#external) return this.#external.publish(event);
    this.#deliver(event);
    this.#toCluster({ kind: 'event', event });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tell every process that a 2025-era session was terminated, so that none rebuilds it before `until`. */
  publishSessionClosed(id: string, until: number): void {
    this.#toCluster({ kind: 'session-closed', id, until });
    if (carriesSessionClosings(this.#external)) this.#external.publishSessionClosed(id, until);
  }

  onSessionClosed(listener: (id: string, until: number) => void): void {
    this.#sessionListeners.add(listener);
  }

  close(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#listeners.clear();
    this.#sessionListeners.clear();
  }

  #deliver(event: ServerEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  #deliverSessionClosed(id: string, until: number): void {
    for (const listener of this.#sessionListeners) listener(id, until);
  }

  #toCluster(signal: Signal): void {
    if (!cluster.isWorker || !process.send || !process.connected) return;
    try {
      process.send({ type: MCP_SIGNAL, signal } satisfies IpcMessage);
    } catch (error) {
      this.#onError(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
