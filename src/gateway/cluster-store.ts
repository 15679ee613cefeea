/**
 * One registry for every worker of a gateway launched with `numWorkers > 1`. The cluster's primary
 * keeps it (in memory, or in the state file: the only process that writes it); each worker asks
 * the primary to make a change and waits until it is saved, and hears of the changes the others
 * make (and then asks for the records as they are). The primary applies changes one at a time, so
 * two workers registering at once both land.
 *
 * Each worker still forwards from its own in-memory copy (no round trip per request), and checks
 * the apps' health itself.
 */
import cluster, { type Worker } from 'node:cluster';
import { ConfigError } from '../errors.ts';
import { memoryStore, type AppRecord, type RecordChange, type RegistryStore } from './registry.ts';

/** The IPC message type of the shared registry, between workers and their primary. */
export const REGISTRY_MESSAGE = 'taskmesh:gateway-registry';

type Request = { type: typeof REGISTRY_MESSAGE; kind: 'request'; id: number; stateFile: string | undefined; change?: RecordChange };
type Reply = { type: typeof REGISTRY_MESSAGE; kind: 'reply'; id: number; records?: AppRecord[]; changed?: boolean; error?: { message: string; config: boolean } };
type Changed = { type: typeof REGISTRY_MESSAGE; kind: 'changed' };
type Message = Request | Reply | Changed;

function isMessage(message: unknown): message is Message {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === REGISTRY_MESSAGE;
}

/** In a worker: the registry its primary keeps. */
export function clusterStore(stateFile: string | undefined): RegistryStore {
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  const watchers = new Set<() => void>();
  let nextId = 0;
  let listening = false;
  const onMessage = (message: unknown): void => {
    if (!isMessage(message)) return;
    if (message.kind === 'changed') for (const watcher of watchers) watcher();
    else if (message.kind === 'reply') {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (!message.error) waiting?.resolve(message);
      else waiting?.reject(message.error.config ? new ConfigError(message.error.message) : new Error(message.error.message));
    }
  };
  const ask = (change?: RecordChange): Promise<Reply> =>
    new Promise((resolve, reject) => {
      if (!process.send || !process.connected) {
        reject(new ConfigError("The gateway's registry is kept by its cluster's primary process, which is gone; restart the gateway."));
        return;
      }
      if (!listening) {
        listening = true;
        process.on('message', onMessage);
      }
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      process.send({ type: REGISTRY_MESSAGE, kind: 'request', id, stateFile, ...(change ? { change } : {}) } satisfies Request);
    });
  return {
    description: `${stateFile ? `state file ${stateFile}` : 'memory'}, kept by the cluster's primary for every worker`,
    load: async () => (await ask()).records ?? [],
    apply: async (change) => {
      const reply = await ask(change);
      return { records: reply.records ?? [], changed: reply.changed ?? false };
    },
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  };
}

let kept: Promise<RegistryStore> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * In a cluster primary: answer a worker's registry request, and tell the other workers of a change.
 * True when `message` was one. The first request says where the registry lives (every worker has
 * the same options).
 */
export function serveClusterRegistry(from: Worker, message: unknown): boolean {
  if (!isMessage(message) || message.kind !== 'request') return false;
  const { stateFile } = message;
  // The state file's module (and zod with it) loads only in a primary that needs it.
  kept ??= stateFile ? import('./state-file.ts').then(({ stateFileStore }) => stateFileStore(stateFile)) : Promise.resolve(memoryStore());
  const reply = (answer: Omit<Reply, 'type' | 'kind' | 'id'>): void => {
    if (from.isConnected()) from.send({ type: REGISTRY_MESSAGE, kind: 'reply', id: message.id, ...answer } satisfies Reply);
  };
  queue = queue.then(async () => {
    try {
      const store = await kept!;
      if (!message.change) return reply({ records: await store.load() });
      const { records, changed } = await store.apply(message.change);
      reply({ records, changed });
      if (!changed) return;
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker && worker !== from && worker.isConnected()) worker.send({ type: REGISTRY_MESSAGE, kind: 'changed' } satisfies Changed);
      }
    } catch (error) {
      reply({ error: { message: (error as Error).message, config: error instanceof ConfigError } });
    }
  });
  return true;
}
