/**
 * The gateway's registry: which app name forwards to which URL. The forwarding hot path reads an
 * in-memory Map (one lookup per request, never a store round trip); a RegistryStore persists the
 * name -> URL records so that they survive a restart. Each app gets its own keep-alive pool.
 */
import type { Pool } from 'undici';
import { keepAlivePool } from '../client/http.ts';
import { Http1Pool, type ReplyHandler, type UpstreamRequest } from './http1-pool.ts';
import { normalizeUrl } from '../config.ts';
import type { EndpointDetail } from '../protocol.ts';
import type { AppHealth, AppInfo } from './contract.ts';

/** What a store keeps per app; health and endpoints are learned again from the app itself. */
export interface AppRecord {
  name: string;
  url: string;
  registered_at: string;
}

/** One change to the registrations. */
export type RecordChange = { put: AppRecord } | { remove: string };

/**
 * Where registrations live. The default keeps them in memory; a state file keeps them across
 * restarts; the cluster store (./cluster-store.ts) shares one registry between a gateway's workers.
 */
export interface RegistryStore {
  /** Every record, at start-up. */
  load(): Promise<AppRecord[]>;
  /** Make one change, saved before it resolves: every record after it, and whether it changed anything. */
  apply(change: RecordChange): Promise<{ records: AppRecord[]; changed: boolean }>;
  /**
   * Hear of changes made by another process sharing the store; `load()` then gives the records as
   * they are (notices may come in any order with this process's own changes, so they carry none).
   */
  watch?(listener: () => void): () => void;
  /** Let go of connections (a shared store's). */
  close?(): Promise<void>;
  /** Shown in logs and errors, e.g. the state file's path. */
  readonly description: string;
}

/** A store that holds the records in memory, and writes every change with `write` (if given) before it takes effect. */
export function recordStore(description: string, read: () => Promise<AppRecord[]>, write?: (records: AppRecord[]) => Promise<void>): RegistryStore {
  let records: AppRecord[] | undefined;
  const current = async (): Promise<AppRecord[]> => (records ??= await read());
  return {
    description,
    load: async () => [...(await current())],
    async apply(change) {
      const before = await current();
      const next = 'put' in change ? [...before.filter((r) => r.name !== change.put.name), change.put] : before.filter((r) => r.name !== change.remove);
      const changed = 'put' in change || next.length !== before.length;
      if (changed) await write?.(next);
      records = next;
      return { records: [...next], changed };
    },
  };
}

export const memoryStore = (): RegistryStore => recordStore('memory', async () => []);

export interface UpstreamApp {
  readonly name: string;
  /** The registered base URL, without a trailing slash. */
  readonly url: string;
  /** Path prefix of the base URL ('' for a bare origin), put before every forwarded path. */
  readonly basePath: string;
  /** The connections calls go over: the gateway's own client for an http: app, undici's for https:. */
  readonly pool: CallPool;
  /** Those of requests whose bodies stream (see UPLOAD_CONNECTIONS). */
  readonly uploadPool: Pool;
  readonly registeredAt: string;
  health: AppHealth;
  endpoints: Record<string, EndpointDetail>;
  /** The last server id the app answered with, kept while it is down, to notice a restart. */
  serverId: string | undefined;
}

/** `endpoints`: the app's endpoints changed, or it restarted. */
export type RegistryChange = { type: 'registered' | 'removed' | 'endpoints'; name: string };

const uncheckedHealth = (): AppHealth => ({ status: 'Down', server_id: null, message: 'Not checked yet.', checked_at: null });

/** What forwarding and the health checks need of a pool: undici's Pool has it too. */
export interface CallPool {
  dispatch(request: UpstreamRequest, handler: ReplyHandler): unknown;
  close(): Promise<unknown>;
  readonly stats: { readonly connected: number; readonly free: number; readonly running: number };
}

/** Connections to one app for calls. */
const CALL_CONNECTIONS = 256;

function callPool(origin: URL): CallPool {
  return origin.protocol === 'http:' ? new Http1Pool(origin, CALL_CONNECTIONS) : keepAlivePool(origin.origin, CALL_CONNECTIONS);
}
/**
 * Connections to one app for requests whose bodies stream (chunked, or longer than the gateway
 * reads whole): kept apart from the calls' and fewer, so that uploads, slow or stalled, cannot
 * take every connection to the app. More uploads at once wait for one of these.
 */
export const UPLOAD_CONNECTIONS = 64;

/** The pools of an app, closed together; close() lets requests already sent on them finish. */
function closePools(app: UpstreamApp): Promise<unknown> {
  return Promise.all([app.pool.close(), app.uploadPool.close()]).catch(() => {});
}

export class AppRegistry {
  readonly #apps = new Map<string, UpstreamApp>();
  readonly #store: RegistryStore;
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  #unwatch: (() => void) | undefined;
  // Changes are applied one at a time, each saved before it takes effect, so the store never
  // holds an order of events the gateway did not see.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: RegistryStore = memoryStore()) {
    this.#store = store;
  }

  get storeDescription(): string {
    return this.#store.description;
  }

  /** The hot-path lookup. */
  get(name: string): UpstreamApp | undefined {
    return this.#apps.get(name);
  }

  names(): string[] {
    return [...this.#apps.keys()].sort();
  }

  apps(): UpstreamApp[] {
    return this.names().map((name) => this.#apps.get(name)!);
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Fill the registry from the store (at start-up), and follow the changes others make to it. */
  async load(): Promise<void> {
    this.#sync(await this.#store.load(), false);
    this.#unwatch ??= this.#store.watch?.(() => void this.#serially(async () => this.#sync(await this.#store.load())));
  }

  /** Register or replace `name`. Replacing keeps the pool when the origin is unchanged. */
  register(name: string, url: string): Promise<UpstreamApp> {
    return this.#serially(async () => {
      const record: AppRecord = { name, url: normalizeUrl(new URL(url).href), registered_at: new Date().toISOString() };
      this.#sync((await this.#store.apply({ put: record })).records);
      return this.#apps.get(name)!;
    });
  }

  /** Remove `name`; false when it was not registered. */
  remove(name: string): Promise<boolean> {
    return this.#serially(async () => {
      const { records, changed } = await this.#store.apply({ remove: name });
      this.#sync(records);
      return changed;
    });
  }

  /**
   * Record what a health check learned. Listeners hear of an app whose endpoints changed, or
   * that restarted (another server id answers): what it offers may have changed.
   */
  update(app: UpstreamApp, health: AppHealth, endpoints?: Record<string, EndpointDetail>): void {
    // The app may have been replaced or removed while it was being checked.
    if (this.#apps.get(app.name) !== app) return;
    const previous = app.serverId;
    const restarted = previous !== undefined && health.server_id !== null && health.server_id !== previous;
    if (health.server_id !== null) app.serverId = health.server_id;
    app.health = health;
    const changed = endpoints !== undefined && !sameEndpoints(app.endpoints, endpoints);
    if (changed) app.endpoints = endpoints;
    if (changed || restarted) this.#emit({ type: 'endpoints', name: app.name });
  }

  info(app: UpstreamApp): AppInfo {
    return { name: app.name, url: app.url, health: app.health, endpoints: app.endpoints };
  }

  /** Close every pool, letting in-flight requests finish. */
  async close(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#store.close?.();
    const apps = [...this.#apps.values()];
    this.#apps.clear();
    await Promise.all(apps.map(closePools));
  }

  #install(record: AppRecord): UpstreamApp {
    const url = new URL(record.url);
    const previous = this.#apps.get(record.name);
    const samePool = previous && new URL(previous.url).origin === url.origin;
    const app: UpstreamApp = {
      name: record.name,
      url: record.url,
      basePath: url.pathname.replace(/\/$/, ''),
      pool: samePool ? previous.pool : callPool(url),
      uploadPool: samePool ? previous.uploadPool : keepAlivePool(url.origin, UPLOAD_CONNECTIONS),
      registeredAt: record.registered_at,
      health: uncheckedHealth(),
      endpoints: {},
      serverId: undefined,
    };
    this.#apps.set(record.name, app);
    // Pools belong to one name: replaced at another origin, its old ones have no other user.
    if (previous && !samePool) void closePools(previous);
    return app;
  }

  /** Make the apps those of `records`: the ones gone removed, the new and the changed installed. */
  #sync(records: AppRecord[], emit = true): void {
    const wanted = new Set(records.map((r) => r.name));
    for (const app of [...this.#apps.values()]) {
      if (wanted.has(app.name)) continue;
      this.#apps.delete(app.name);
      void closePools(app);
      if (emit) this.#emit({ type: 'removed', name: app.name });
    }
    for (const record of records) {
      const app = this.#apps.get(record.name);
      if (app && app.url === record.url && app.registeredAt === record.registered_at) continue;
      this.#install(record);
      if (emit) this.#emit({ type: 'registered', name: record.name });
    }
  }

  #emit(change: RegistryChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function sameEndpoints(a: Record<string, EndpointDetail>, b: Record<string, EndpointDetail>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
