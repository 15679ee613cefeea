/**
 * ConnectionManager: the client of one running service. Built-in methods (status, heartbeat,
 * shutdown, ...) come from this class; one async method per endpoint is added from the contract
 * (typed) or from the service's `detailed_endpoints` (at run time). Generated methods never
 * replace a built-in or a subclass's own method: such an endpoint is called with `call(name, input)`.
 */
import { z } from 'zod';
import { ErrorCodes, InvalidInputError, InvalidOutputError, TaskmeshError, ServiceUnreachableError } from '../errors.ts';
import {
  ADMIN_TOKEN_ENV,
  ServerStatus,
  builtinTasks,
  type EndpointDetail,
  type Heartbeat,
} from '../protocol.ts';
import { callMethod, methodNameFor, toIssues, type AnyContract, type AnyTask, type HttpMethod, type Schema, type TaskInput, type TaskOutput } from '../task.ts';
import { mcpUrl } from '../config.ts';
import { acquirePool, releasePool, sendJson } from './http.ts';
import { isDown, statusByProbe } from './liveness.ts';
import type { Pool } from 'undici';
import type { Client as McpClient } from '@modelcontextprotocol/client';

export interface CallOptions {
  /** Check the input against the schema before sending (default true). */
  validateInput?: boolean;
  /** Parse the reply with the output schema (default true); false returns the raw JSON. */
  validateOutput?: boolean;
  /** Milliseconds to wait for the reply; the client's default (60 s) otherwise. */
  timeout?: number;
  signal?: AbortSignal;
  /** Sent as X-Request-ID; the service makes one otherwise. */
  requestId?: string;
  /** Headers for this call, over the client's own. */
  headers?: Record<string, string>;
}

export interface ClientInit {
  url: string;
  contract?: AnyContract | undefined;
  /** From `detailed_endpoints`, for clients made without a contract. */
  details?: Record<string, EndpointDetail> | undefined;
  serverId?: string | undefined;
  /** Admin token sent as a bearer token; defaults to TASKMESH_ADMIN_TOKEN. */
  token?: string | undefined;
  /** Default call timeout in ms (60 s). */
  timeout?: number | undefined;
  /** Headers sent with every request (credentials a `configureApp` hook checks, say). */
  headers?: Record<string, string> | undefined;
  /** Shut the service down when this client is disposed (clients returned by launch()). */
  shutdownOnDispose?: boolean | undefined;
  /** For a service started by launch(): its log file and the pid of its process (the cluster primary with workers). */
  logFile?: string | undefined;
  pid?: number | undefined;
  /**
   * For a service started by launch(): stop its processes with a signal. Disposing the client does
   * so when the service refuses its shutdown call (no admin token for a service beyond loopback).
   */
  terminate?: (() => void) | undefined;
}

export interface Route {
  path: string;
  /** What the endpoint is called with (see `callMethod`): POST, or the query string of a GET. */
  method: HttpMethod;
  input: Schema | undefined;
  output: Schema | undefined;
  /** Admin routes alone carry the admin token. */
  admin: boolean;
}

type Replace<S extends string> = S extends `${infer A}.${infer B}` ? Replace<`${A}_${B}`> : S extends `${infer A}-${infer B}` ? Replace<`${A}_${B}`> : S;

export type EndpointMethod<T extends AnyTask> = [TaskInput<T>] extends [void]
  ? (input?: undefined, options?: CallOptions) => Promise<TaskOutput<T>>
  : Record<string, never> extends TaskInput<T>
    ? (input?: TaskInput<T>, options?: CallOptions) => Promise<TaskOutput<T>>
    : (input: TaskInput<T>, options?: CallOptions) => Promise<TaskOutput<T>>;

type Reserved = keyof ConnectionManagerBase;

/** One method per contract task, named by its key (dots and dashes become `_`), except names the client reserves. */
export type ContractMethods<C extends AnyContract> = {
  [K in keyof C['tasks'] & string as Replace<K> extends Reserved ? never : Replace<K>]: EndpointMethod<C['tasks'][K]>;
};

export class ConnectionManagerBase<C extends AnyContract = AnyContract> {
  readonly url: string;
  serverId: string | undefined;
  readonly contract: C | undefined;
  /** The log file of a service started by launch(); undefined for a client from connect(). */
  readonly logFile: string | undefined;
  /** The pid of a service started by launch() (the cluster primary with workers). */
  readonly pid: number | undefined;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #pool: Pool;
  readonly #routes = new Map<string, Route>();
  readonly #token: string | undefined;
  readonly #timeout: number;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #shutdownOnDispose: boolean;
  readonly #terminate: (() => void) | undefined;
  #closed = false;
  #mcpClient: Promise<McpClient> | undefined;

  constructor(init: ClientInit) {
    const url = new URL(init.url);
    this.url = url.href.replace(/\/$/, '');
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/$/, '');
    this.#pool = acquirePool(this.#origin);
    this.serverId = init.serverId;
    this.contract = init.contract as C | undefined;
    this.logFile = init.logFile;
    this.pid = init.pid;
    this.#token = init.token ?? process.env[ADMIN_TOKEN_ENV] ?? undefined;
    this.#timeout = init.timeout ?? 60_000;
    // Lower-case names, so that a call's own header replaces the client's whatever its case.
    this.#headers = Object.freeze(lowerCaseNames(init.headers));
    this.#shutdownOnDispose = init.shutdownOnDispose ?? false;
    this.#terminate = init.terminate;

    for (const [key, t] of Object.entries(init.contract?.tasks ?? {})) {
      this.#addRoute(key, methodNameFor(key), { path: t.name, method: callMethod(t.methods), input: t.input, output: t.output, admin: t.scope === 'admin' });
    }
    for (const detail of Object.values(init.details ?? {})) {
      if (detail.builtin || this.#routes.has(detail.path)) continue;
      this.#addRoute(detail.path, detail.method_name, runtimeRoute(detail));
    }
  }

  #addRoute(key: string, methodName: string, route: Route): void {
    this.#routes.set(key, route);
    if (route.path !== key) this.#routes.set(route.path, route);
    if (methodName in this) return; // a built-in or the subclass's own method: reach the endpoint with call()
    Object.defineProperty(this, methodName, {
      value: (input?: unknown, options?: CallOptions) => this.#invoke(route, input, options),
      enumerable: false,
      configurable: true,
    });
  }

  /**
   * Call an endpoint by its contract key (or, on a client without a contract, its path): the way
   * to reach endpoints whose name a built-in method takes.
   */
  call<K extends keyof C['tasks'] & string>(name: K, input?: TaskInput<C['tasks'][K]>, options?: CallOptions): Promise<TaskOutput<C['tasks'][K]>>;
  call(name: string, input?: unknown, options?: CallOptions): Promise<unknown> {
    const route = this.#routes.get(name) ?? { path: name.replace(/^\/+/, ''), method: 'POST' as const, input: undefined, output: undefined, admin: false };
    return this.#invoke(route, input, options);
  }

  async #invoke(route: Route, input: unknown, options: CallOptions = {}): Promise<unknown> {
    let body = input;
    if (route.input && options.validateInput !== false) {
      const parsed = route.input.safeParse(input);
      if (!parsed.success) {
        throw new InvalidInputError(`Input for ${route.path} does not match its schema; nothing was sent.`, toIssues(parsed.error));
      }
      body = parsed.data;
    }
    const result = await this.#send(route, body, options);
    if (!route.output || options.validateOutput === false) return result.body;
    const checked = route.output.safeParse(result.body);
    if (!checked.success) {
      throw new InvalidOutputError(
        `The reply of ${route.path} does not match its output schema (is the service running another version of the contract?).`,
        toIssues(checked.error),
        result.requestId,
      );
    }
    return checked.data;
  }

  #send(route: Route, body: unknown, options: CallOptions = {}) {
    if (this.#closed) throw new TaskmeshError(ErrorCodes.CALL_FAILED, `This client of ${this.url} is closed; connect again.`);
    const headers: Record<string, string> = { ...this.#headers };
    if (options.requestId) headers['x-request-id'] = options.requestId;
    if (route.admin && this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (options.headers) Object.assign(headers, lowerCaseNames(options.headers));
    const query = route.method === 'GET';
    return sendJson({
      pool: this.#pool,
      baseUrl: this.url,
      basePath: this.#basePath,
      method: route.method,
      path: query ? `${route.path}${queryString(route.path, body)}` : route.path,
      body: query ? undefined : body,
      timeout: options.timeout ?? this.#timeout,
      signal: callSignal(options),
      headers,
    });
  }

  async #builtin<T>(name: keyof typeof builtinTasks, options?: CallOptions): Promise<T> {
    const t = builtinTasks[name];
    return (await this.#invoke({ path: t.name, method: 'POST', input: undefined, output: t.output, admin: t.scope === 'admin' }, undefined, options)) as T;
  }

  /** The service's status; `Down` when nothing answers (a fresh connection to it is refused). */
  async status(options: CallOptions = {}): Promise<ServerStatus> {
    try {
      return (await this.#builtin<{ status: ServerStatus }>('status', options)).status;
    } catch (error) {
      if (!(error instanceof ServiceUnreachableError)) throw error;
    }
    // The pooled socket may be one that a stopping server closed while it still serves others.
    return statusByProbe(this.url, { timeout: options.timeout ?? this.#timeout, signal: options.signal });
  }

  async heartbeat(options?: CallOptions): Promise<Heartbeat> {
    return (await this.#builtin<{ heartbeat: Heartbeat }>('heartbeat', options)).heartbeat;
  }

  async endpoints(options?: CallOptions): Promise<string[]> {
    return (await this.#builtin<{ endpoints: string[] }>('endpoints', options)).endpoints;
  }

  async detailedEndpoints(options?: CallOptions): Promise<Record<string, EndpointDetail>> {
    return (await this.#builtin<{ endpoints: Record<string, EndpointDetail> }>('detailed_endpoints', options)).endpoints;
  }

  async className(options?: CallOptions): Promise<string> {
    return (await this.#builtin<{ class_name: string }>('class_name', options)).class_name;
  }

  async pidFile(options?: CallOptions): Promise<string | null> {
    return (await this.#builtin<{ pid_file: string | null }>('pid_file', options)).pid_file;
  }

  /**
   * Ask the service to stop. With `block` (the default) wait until it is down, checking every
   * 50 ms for at most `timeout` ms (30 s): a service started by launch() until its process has
   * exited, any other until a fresh connection to its URL is refused.
   */
  async shutdown(options: { block?: boolean; timeout?: number } = {}): Promise<void> {
    const { block = true, timeout = 30_000 } = options;
    await this.#builtin('shutdown');
    if (block) await this.#untilDown(timeout);
  }

  async #untilDown(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!(await isDown(this.url, this.pid, { timeout: Math.max(1, deadline - Date.now()) }))) {
      if (Date.now() > deadline) {
        throw new TaskmeshError(ErrorCodes.TIMEOUT, `${this.url} was asked to shut down but is still up after ${timeout} ms.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The service's MCP endpoint, for an MCP client configuration. */
  get mcpUrl(): string {
    return mcpUrl(this.url);
  }

  /**
   * An MCP client (the official SDK's `Client`) of the same service, connected on first use and
   * closed with this client: `const mcp = await cm.mcpClient`. The MCP SDK is loaded only then.
   */
  get mcpClient(): Promise<McpClient> {
    this.#mcpClient ??= import('../mcp/client.ts')
      .then(({ connectMcp }) => connectMcp(this.url, { token: this.#token, headers: this.#headers }))
      .catch((error: unknown) => {
        this.#mcpClient = undefined;
        throw error;
      });
    return this.#mcpClient;
  }

  /** Release the connection pool (and, for launched services, shut the service down). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const mcp = this.#mcpClient;
    this.#mcpClient = undefined;
    if (mcp) await (await mcp.catch(() => undefined))?.close();
    if (this.#shutdownOnDispose) {
      await this.shutdown({ block: true }).catch(async (error: unknown) => {
        if (error instanceof ServiceUnreachableError) return;
        const refused = error instanceof TaskmeshError && error.code === ErrorCodes.UNAUTHORIZED;
        if (!refused || !this.#terminate) throw error;
        // Its launcher may stop it without a token: the signal it answers with the same graceful stop.
        this.#terminate();
        await this.#untilDown(30_000);
      });
    }
    this.#closed = true;
    await releasePool(this.#origin);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * An explicit per-call timeout gets a precise timer; the default one is left to undici's own
 * coarse timers, which cost nothing per call.
 */
function callSignal(options: CallOptions): AbortSignal | undefined {
  if (options.timeout === undefined) return options.signal;
  const timer = AbortSignal.timeout(options.timeout);
  return options.signal ? AbortSignal.any([options.signal, timer]) : timer;
}

function lowerCaseNames(headers: Record<string, string> | undefined): Record<string, string> {
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) lowered[name.toLowerCase()] = value;
  return lowered;
}

/**
 * The input of a GET as its query string: each field once, an array's items as repeated fields.
 * A query string holds text only, so the endpoint's schema reads numbers and booleans back with
 * `z.coerce`; a nested object does not fit and is refused before anything is sent.
 */
function queryString(path: string, input: unknown): string {
  if (input === undefined || input === null) return '';
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInputError(`${path} is called with GET, whose input is a query string: give an object of fields.`, [{ path: [], message: 'not an object of fields' }]);
  }
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(input)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      if (typeof item === 'object') {
        throw new InvalidInputError(`${path} is called with GET, whose input is a query string: field "${name}" holds an object, which one cannot carry.`, [
          { path: [name], message: 'an object in a query string' },
        ]);
      }
      params.append(name, String(item));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const jsonSchemaCache = new WeakMap<object, Schema>();

/** A route for an endpoint known only from `detailed_endpoints`: validators built on first use. */
function runtimeRoute(detail: EndpointDetail): Route {
  const lazy = (schema: Record<string, unknown> | null): Schema | undefined => {
    if (!schema) return undefined;
    let made = jsonSchemaCache.get(schema);
    if (!made) {
      made = z.fromJSONSchema(schema as never) as Schema;
      jsonSchemaCache.set(schema, made);
    }
    return made;
  };
  return {
    path: detail.path,
    method: callMethod(detail.methods),
    admin: detail.scope === 'admin',
    get input() {
      return lazy(detail.input_schema);
    },
    get output() {
      return lazy(detail.output_schema);
    },
  };
}

/** The client of a contract's service: built-in methods plus one typed method per task. */
export type ConnectionManager<C extends AnyContract = AnyContract> = ConnectionManagerBase<C> & ContractMethods<C>;

export const ConnectionManager = ConnectionManagerBase as unknown as {
  new <C extends AnyContract = AnyContract>(init: ClientInit): ConnectionManager<C>;
  prototype: ConnectionManagerBase;
};

export type ConnectionManagerClass = new (init: ClientInit) => ConnectionManagerBase<any>;

/** What `connect()` returns: the registered client class (or ConnectionManager) with the contract's methods. */
export type Client<C extends AnyContract, M = undefined> = (M extends ConnectionManagerClass ? InstanceType<M> : ConnectionManagerBase<C>) &
  ContractMethods<C>;

/** A client made without a contract: any endpoint method, untyped. */
export type DynamicClient = ConnectionManagerBase & { [method: string]: any };
