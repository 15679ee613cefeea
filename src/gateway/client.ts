/**
 * The gateway's client. Besides register/unregister/list, `gw.<app>.<endpoint>(input)` calls an
 * app through the gateway. The gateway's registry is the truth: a client made before an app was
 * registered, or in another process, finds it by asking the registry (cached, refreshed on a
 * miss). Property access itself never touches the network: `gw.echoer` is a handle, and only a
 * call on it looks the app up. Symbols, `then`, `toJSON`, inspection hooks and the client's own
 * members are never taken for app names.
 */
import { ErrorCodes, InvalidInputError, TaskmeshError, AppNotRegisteredError } from '../errors.ts';
import type { AnyContract } from '../task.ts';
import {
  ConnectionManager,
  type CallOptions,
  type Client,
  type ClientInit,
  type ConnectionManagerClass,
  type DynamicClient,
} from '../client/connection-manager.ts';
import { APP_NAME_PATTERN, type AppInfo } from './contract.ts';

/** An app reached through the gateway without its contract: any endpoint method, checked against the app's schemas at run time. */
export interface AppHandle {
  readonly name: string;
  /** The app's URL at the gateway: `{gateway}/{name}`. */
  readonly url: string;
  /** Any endpoint (or built-in) method of the app: `(input?, options?) => Promise<output>`. */
  readonly [method: string]: any;
}

/** Property names that libraries probe on any object (promises, JSON, test runners, React, Immutable). */
const NEVER_APP_NAMES = new Set(['then', 'catch', 'finally', 'toJSON', 'inspect', 'constructor', 'asymmetricMatch', 'nodeType', 'tagName', 'prototype', 'length']);

function mayBeAppName(prop: string | symbol): prop is string {
  return typeof prop === 'string' && !NEVER_APP_NAMES.has(prop) && APP_NAME_PATTERN.test(prop);
}

/** A Proxy handler that serves the target's members bound to the target (its private fields need it). */
function memberGetter<T extends object>(target: T, fallback: (prop: string | symbol) => unknown): ProxyHandler<T>['get'] {
  const bound = new WeakMap<object, unknown>();
  return (_t, prop) => {
    if (typeof prop === 'symbol' || prop in target) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value);
      // A closure rather than value.bind(target): Node 24 refuses a bound function as the
      // Symbol.asyncDispose method of `await using`.
      if (!fn) bound.set(value, (fn = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args)));
      return fn;
    }
    return fallback(prop);
  };
}

export interface RegisterAppInput<C extends AnyContract | undefined> {
  name: string;
  /** The app's base URL; taken from `client` when omitted. */
  url?: string;
  /** The app's contract: the returned client (and `gw.app(name, contract)`) is typed by it. */
  contract?: C;
  /** A client of the app, as the reference framework took one: its URL and contract are used. */
  client?: { url: string; contract?: AnyContract | undefined };
}

// The untyped base: the gateway's three methods are defined here with richer signatures.
const ClientBase: ConnectionManagerClass = ConnectionManager;

export class GatewayClientBase extends ClientBase {
  readonly #init: ClientInit;
  /** The last registry seen, by app name; undefined until first needed. */
  #registry: Map<string, AppInfo> | undefined;
  #refreshing: Promise<Map<string, AppInfo>> | undefined;
  readonly #handles = new Map<string, AppHandle>();
  readonly #typed = new Map<string, { contract: AnyContract; client: ConnectionManager<any> }>();
  readonly #dynamic = new Map<string, { info: AppInfo; client: DynamicClient }>();

  constructor(init: ClientInit) {
    super(init);
    this.#init = init;
    const get = memberGetter(this, (prop) => (mayBeAppName(prop) ? this.app(prop) : undefined));
    // Members first, then app names: an app whose name is a member is reached with gw.app(name).
    return new Proxy(this, { get });
  }

  /**
   * Register (or replace) an app. Resolves to its client through the gateway: typed when a
   * contract (or a client with one) is given.
   */
  async registerApp<C extends AnyContract>(
    app: RegisterAppInput<C> & ({ contract: C } | { client: { url: string; contract?: C | undefined } }),
    options?: CallOptions,
  ): Promise<Client<C>>;
  async registerApp(app: RegisterAppInput<undefined>, options?: CallOptions): Promise<AppHandle>;
  async registerApp(app: RegisterAppInput<AnyContract | undefined>, options?: CallOptions): Promise<unknown> {
    const url = app.url ?? app.client?.url;
    if (!url) {
      throw new InvalidInputError(`registerApp("${app.name}") needs the app's url (or a client of it).`, [{ path: ['url'], message: 'Required' }]);
    }
    const info = (await this.call('registerApp', { name: app.name, url }, options)) as AppInfo;
    (this.#registry ??= new Map()).set(info.name, info);
    await this.#dropAppClients(info.name);
    const contract = app.contract ?? app.client?.contract;
    return contract ? this.app(info.name, contract) : this.app(info.name);
  }

  async unregisterApp(name: string, options?: CallOptions): Promise<void> {
    await this.call('unregisterApp', { name }, options);
    this.#registry?.delete(name);
    await this.#dropAppClients(name);
  }

  /** The gateway's registry now: every app with its URL, health and endpoints. */
  async listApps(options?: CallOptions): Promise<Record<string, AppInfo>> {
    const { apps } = (await this.call('listApps', undefined, options)) as { apps: Record<string, AppInfo> };
    this.#registry = new Map(Object.entries(apps));
    return apps;
  }

  /**
   * An app's client through the gateway. With its contract: a typed client, made without any
   * request. Without: a handle whose calls look the app up in the gateway's registry.
   */
  app<C extends AnyContract>(name: string, contract: C): Client<C>;
  app(name: string): AppHandle;
  app(name: string, contract?: AnyContract): unknown {
    if (!APP_NAME_PATTERN.test(name)) {
      throw new InvalidInputError(`"${name}" cannot be an app name.`, [{ path: ['name'], message: 'App names start with a letter and have at most 32 letters, digits, _ or -' }]);
    }
    if (!contract) return this.#handle(name);
    const known = this.#typed.get(name);
    if (known?.contract === contract) return known.client;
    const client = new ConnectionManager<AnyContract>({ ...this.#appInit(name), contract });
    this.#typed.set(name, { contract, client });
    if (known) void known.client.close();
    return client;
  }

  override async close(): Promise<void> {
    const clients = [...this.#typed.values(), ...this.#dynamic.values()].map((e) => e.client);
    this.#typed.clear();
    this.#dynamic.clear();
    await Promise.all(clients.map((c) => c.close()));
    await super.close();
  }

  #appInit(name: string): ClientInit {
    return { url: `${this.url}/${name}`, token: this.#init.token, timeout: this.#init.timeout };
  }

  #handle(name: string): AppHandle {
    let handle = this.#handles.get(name);
    if (handle) return handle;
    const methods = new Map<string, (input?: unknown, options?: CallOptions) => Promise<unknown>>();
    const target = { name, url: `${this.url}/${name}` };
    handle = new Proxy(target, {
      get: memberGetter(target, (prop) => {
        if (typeof prop !== 'string' || NEVER_APP_NAMES.has(prop)) return undefined;
        let method = methods.get(prop);
        if (!method) methods.set(prop, (method = (input, options) => this.#callApp(name, prop, input, options)));
        return method;
      }),
    }) as unknown as AppHandle;
    this.#handles.set(name, handle);
    return handle;
  }

  async #callApp(name: string, method: string, input: unknown, options?: CallOptions): Promise<unknown> {
    let client = await this.#dynamicClient(name, false);
    let fn = (client as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      // The app may have changed since the registry was read: read it once more.
      client = await this.#dynamicClient(name, true);
      fn = (client as Record<string, unknown>)[method];
    }
    if (typeof fn !== 'function') {
      const endpoints = Object.values(this.#registry?.get(name)?.endpoints ?? {}).filter((e) => !e.builtin).map((e) => e.method_name);
      throw new TaskmeshError(
        ErrorCodes.NOT_FOUND,
        `App "${name}" at the gateway ${this.url} has no endpoint "${method}" (its endpoints: ${endpoints.join(', ') || 'none known yet'}).`,
        { status: 404 },
      );
    }
    return (fn as (input: unknown, options?: CallOptions) => Promise<unknown>).call(client, input, options);
  }

  /** The app's client built from its endpoints in the registry; rebuilt when the registry changes. */
  async #dynamicClient(name: string, refresh: boolean): Promise<DynamicClient> {
    let info = refresh ? undefined : this.#registry?.get(name);
    if (!info) info = (await this.#refresh()).get(name);
    if (!info) throw new AppNotRegisteredError(name, [...(this.#registry?.keys() ?? [])].sort(), `the gateway ${this.url}`);
    const known = this.#dynamic.get(name);
    if (known?.info === info) return known.client;
    if (known && JSON.stringify(known.info.endpoints) === JSON.stringify(info.endpoints)) {
      known.info = info;
      return known.client;
    }
    const client = new ConnectionManager({ ...this.#appInit(name), details: info.endpoints, serverId: info.health.server_id ?? undefined }) as DynamicClient;
    this.#dynamic.set(name, { info, client });
    if (known) void known.client.close();
    return client;
  }

  /** One registry read at a time, shared by every caller that missed meanwhile. */
  #refresh(): Promise<Map<string, AppInfo>> {
    this.#refreshing ??= this.listApps()
      .then(() => this.#registry!)
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #dropAppClients(name: string): Promise<void> {
    const dynamic = this.#dynamic.get(name);
    this.#dynamic.delete(name);
    await dynamic?.client.close();
  }
}

/**
 * A client of a gateway: its own methods, and an AppHandle for any other name. The index type is
 * `any`, as for clients made without a contract, so that `gw.echoer.echo(...)` needs no `!` under
 * `noUncheckedIndexedAccess`; `gw.app(name, contract)` gives a typed client.
 */
export type GatewayClient = GatewayClientBase & { readonly [app: string]: any };

export const GatewayClient = GatewayClientBase as unknown as {
  new (init: ClientInit): GatewayClient;
  prototype: GatewayClientBase;
};
