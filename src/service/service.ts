/**
 * Service: the server side. A subclass registers endpoints in its constructor; `start()` serves
 * them over HTTP with the built-in endpoints, OpenAPI and docs; `stop()` drains and shuts down.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FastifyCorsOptions } from '@fastify/cors';
import { buildUrl, defaultUrlFor, isLoopbackHost, type UrlParts } from '../config.ts';
import { DefinitionError } from '../errors.ts';
import { ADMIN_TOKEN_ENV, ServerStatus, builtinTasks, readOnlyBuiltins, type BuiltinName } from '../protocol.ts';
import type { AnyContract, AnyTask, Contract } from '../task.ts';
import { connect, statusAtHost, type ConnectOptions } from '../client/connect.ts';
import type { ConnectionManagerClass, Client } from '../client/connection-manager.ts';
import type { LaunchOptionsFor } from '../launch/options.ts';
import { endpointDetail, makeEndpoint, type Endpoint, type EndpointHandler, type EndpointOptions, type RequestContext } from './endpoint.ts';
import type { McpOptions } from '../mcp/host.ts';
import type { StdioStreams } from '../mcp/stdio.ts';
import { McpSurface } from '../mcp/surface.ts';
import type { AdminPolicy } from './admin.ts';
import { removeStalePidFile } from '../launch/files.ts';
import { trackConnections, type ConnectionTracker } from './connections.ts';
import { isDirectPathSafe, markDirectPathSafe } from './direct-calls.ts';
import { buildHttpApp, listenError } from './http-app.ts';
import { openApiInfo, type OpenApiInfo } from './openapi.ts';
import type { LoggerOption } from './logging.ts';

export interface ServiceOptions extends UrlParts {
  /** Token for admin endpoints; defaults to the TASKMESH_ADMIN_TOKEN environment variable. */
  adminToken?: string;
  /** Largest accepted request body in bytes; 1 MiB by default. Larger bodies get 413. */
  bodyLimit?: number;
  /**
   * Milliseconds a caller has to send a whole request, head and body (60 s; 0 for no limit). One
   * that has not by then gets 408 and its connection is closed, so that callers who trickle or
   * stop mid-body cannot hold connections for ever. Raise it with `bodyLimit` for large uploads.
   */
  requestTimeout?: number;
  /** CORS is off unless configured here (options of @fastify/cors). */
  cors?: FastifyCorsOptions | false;
  /** Development mode puts stack traces into 500 replies. Defaults to NODE_ENV === 'development'. */
  development?: boolean;
  /** pino logger: true (info, the default), false, or pino options such as `{ level: 'warn' }`. */
  logger?: LoggerOption;
  /** Serve the interactive docs page at /docs (default true). OpenAPI is always at /openapi.json. */
  docs?: boolean;
  /** Where the serving process writes its pid; null (the default) for none. */
  pidFile?: string | null;
  /** Milliseconds that shutdown waits for in-flight requests before it closes their connections (10 s). */
  shutdownTimeout?: number;
  /** false: only report `pidFile`, a launcher writes it (a cluster primary writes its own pid). Default true. */
  writePidFile?: boolean;
  /** This server id instead of a random one (the workers of one launched cluster share one). */
  serverId?: string;
  /** Shown in the OpenAPI document and the docs page (its `info`). */
  description?: string;
  version?: string;
  summary?: string;
  termsOfService?: string;
  contact?: OpenApiInfo['contact'];
  license?: OpenApiInfo['license'];
  /** MCP serving: DNS rebinding allow-lists, 2025-era sessions, events between replicas (README, "MCP"). */
  mcp?: McpOptions;
}

type ContractOf<S> = S extends { contract: infer C extends AnyContract } ? C : AnyContract;
type ManagerOf<S> = S extends { connectionManager: infer M extends ConnectionManagerClass } ? M : undefined;

const emptyContract: Contract<string, Record<never, AnyTask>> = Object.freeze({ kind: 'taskmesh.contract', name: 'Service', tasks: {} });

export class Service extends McpSurface {
  /** The contract the service serves; set by `Service.for(contract)`. */
  static contract: AnyContract = emptyContract;
  /** The module that defines the class, so that `launch()` can import it in a child process. */
  static moduleUrl: string | undefined = undefined;
  /** The client class that `connect()` and `launch()` return; ConnectionManager by default. */
  static connectionManager: ConnectionManagerClass | undefined = undefined;
  // Service's configureApp adds nothing: an app nobody customises keeps the direct path.
  static {
    markDirectPathSafe(this.prototype.configureApp);
  }

  /**
   * The base class for a service that serves `contract`. Pass `import.meta.url` as `moduleUrl`
   * so that `launch()` can find the class from any module.
   */
  static for<const K extends AnyContract>(contract: K, moduleUrl?: string): ServiceBaseFor<K> {
    abstract class ContractService extends Service {
      static override contract: K = contract;
      static override moduleUrl: string | undefined = moduleUrl;
    }
    return ContractService as unknown as ServiceBaseFor<K>;
  }

  /** Make `connect()` (and `launch()`) of this class return instances of `manager`. */
  static registerConnectionManager(manager: ConnectionManagerClass): void {
    this.connectionManager = manager;
  }

  static defaultUrl(): string {
    return defaultUrlFor(this.name);
  }

  static buildUrl(parts: UrlParts = {}): string {
    return buildUrl(parts, this.name);
  }

  /** A typed client of a running service, made from the contract alone (the class is not constructed). */
  static connect<S extends typeof Service>(
    this: S,
    url?: string,
    options: Omit<ConnectOptions, 'connectionManager'> = {},
  ): Promise<Client<ContractOf<S>, ManagerOf<S>>> {
    return connect(url ?? this.defaultUrl(), this.contract as ContractOf<S>, {
      ...options,
      connectionManager: this.connectionManager,
    }) as Promise<Client<ContractOf<S>, ManagerOf<S>>>;
  }

  /** The status of whatever answers at `url`: Down when nothing does. */
  static statusAtHost(url?: string, options: { timeout?: number } = {}): Promise<ServerStatus> {
    return statusAtHost(url ?? this.defaultUrl(), options);
  }

  /**
   * Serve the service in a process of its own (`numWorkers` processes with a cluster) and return
   * its typed client once it answers. Options other than the launch options go to the constructor
   * and must be JSON data. With `waitForLaunch: false` or `block: true`, resolves to nothing.
   */
  static launch<S extends typeof Service>(this: S, options: LaunchOptionsFor<S> & { waitForLaunch: false }): Promise<void>;
  static launch<S extends typeof Service>(this: S, options: LaunchOptionsFor<S> & { block: true }): Promise<void>;
  static launch<S extends typeof Service>(this: S, options?: LaunchOptionsFor<S>): Promise<Client<ContractOf<S>, ManagerOf<S>>>;
  static async launch(this: typeof Service, options: object = {}): Promise<unknown> {
    // Loaded on use: a service that never launches another keeps the process code out of its imports.
    const { launchService } = await import('../launch/launch.ts');
    return launchService(this, options as Record<string, unknown>);
  }

  readonly serverId: string;
  readonly options: ServiceOptions;
  #status: ServerStatus = ServerStatus.Launching;
  #statusMessage: string | null = null;
  readonly #endpoints = new Map<string, Endpoint>();
  #app: FastifyInstance | undefined;
  #connections: ConnectionTracker | undefined;
  #url: string;
  #stopping: Promise<void> | undefined;
  /** Served over stdio: resolves once the client's requests are answered, what stopping waits for there. */
  #stdioAnswered: (() => Promise<void>) | undefined;
  readonly #downListeners: (() => void)[] = [];

  constructor(options: ServiceOptions = {}) {
    super();
    this.options = options;
    this.serverId = options.serverId ?? randomUUID();
    this.#url = buildUrl(options, new.target.name);
    for (const name of Object.keys(builtinTasks) as BuiltinName[]) {
      const methods = readOnlyBuiltins.includes(name) ? (['GET', 'POST'] as const) : (['POST'] as const);
      const endpoint = makeEndpoint(name, this.#builtinHandler(name), {
        schema: builtinTasks[name],
        methods: [...methods],
        asTool: name === 'status' || name === 'heartbeat' || name === 'endpoints',
      }, true);
      this.#endpoints.set(name, endpoint);
      if (endpoint.asTool) this.mcp.registry.addEndpointTool(endpoint);
    }
  }

  get className(): string {
    return this.constructor.name;
  }

  get status(): ServerStatus {
    return this.#status;
  }

  /** The URL the service answers at; after `start()` with port 0, the real port. */
  get url(): string {
    return this.#url;
  }

  /** The Fastify instance, once `start()` has built it (for tests and plugins). */
  get app(): FastifyInstance | undefined {
    return this.#app;
  }

  get endpoints(): ReadonlyMap<string, Endpoint> {
    return this.#endpoints;
  }

  /** Register an endpoint. Call it in the constructor: routes are fixed once the service starts. */
  addEndpoint<T extends AnyTask>(path: string, handler: EndpointHandler<T>, options: EndpointOptions<T>): void {
    if (this.#app) throw new DefinitionError(`addEndpoint("${path}") after start(): register endpoints in the constructor.`);
    const endpoint = makeEndpoint(path, handler.bind(this) as Endpoint['handler'], options as EndpointOptions<AnyTask>);
    const existing = this.#endpoints.get(endpoint.path);
    if (existing) {
      throw new DefinitionError(
        existing.builtin
          ? `"${endpoint.path}" is a built-in endpoint of every service; choose another path.`
          : `${this.className} already has an endpoint at "${endpoint.path}".`,
      );
    }
    if (endpoint.asTool) this.mcp.registry.addEndpointTool(endpoint);
    this.#endpoints.set(endpoint.path, endpoint);
  }

  /**
   * Serve the MCP tools, resources and prompts over stdin/stdout instead of HTTP (for desktop
   * clients; `taskmesh mcp stdio` does this): run onStartup, serve until the input ends or stop()
   * is called, then stop.
   */
  async serveStdio(streams?: StdioStreams): Promise<void> {
    if (this.#app || this.#status !== ServerStatus.Launching) throw new DefinitionError(`${this.className} is already serving; serve it once, over HTTP or over stdio.`);
    const { serveMcpStdio } = await import('../mcp/stdio.ts');
    try {
      await this.onStartup();
    } catch (error) {
      this.#status = ServerStatus.FailedToLaunch;
      throw error;
    }
    this.#status = ServerStatus.Available;
    const { logger } = this.options;
    const logLevel = logger === false ? 'silent' : typeof logger === 'object' ? logger.level : undefined;
    const facts = { className: this.className, version: this.options.version ?? '0.0.0', options: this.options.mcp ?? {}, logLevel };
    const serving = serveMcpStdio(this.mcp, { ...facts, status: () => this.#status }, streams);
    this.#stdioAnswered = serving.answered;
    await Promise.race([serving.done, this.whenDown()]);
    await serving.close();
    await this.stop();
  }

  /** Runs after the server listens and before the status becomes Available. A throw fails the launch. */
  async onStartup(): Promise<void> {}

  /** Runs after in-flight requests have drained, before the status becomes Down. */
  async onShutdown(): Promise<void> {}

  /** Service-specific details for the heartbeat; override to report on dependencies. */
  async heartbeatDetails(): Promise<unknown> {
    return null;
  }

  /** Listen, run `onStartup`, and become Available. Resolves to the URL. */
  async start(): Promise<string> {
    if (this.#app) throw new DefinitionError(`${this.className} is already started at ${this.#url}.`);
    this.#checkContract();
    const development = this.options.development ?? process.env.NODE_ENV === 'development';
    const url = new URL(this.#url);
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const token = this.options.adminToken ?? process.env[ADMIN_TOKEN_ENV] ?? undefined;
    const adminPolicy: AdminPolicy = { token: token || undefined, loopbackOnly: () => isLoopbackHost(hostname) };
    this.#app = await buildHttpApp(
      {
        className: this.className,
        endpoints: () => this.#endpoints.values(),
        status: () => this.#status,
        adminPolicy,
        openApiInfo: openApiInfo(this.className, this.options),
      },
      {
        // Only for an app nobody customises: hooks added in configureApp (auth, say) must see every call.
        directCalls: isDirectPathSafe(this.configureApp) && !this.options.cors,
        bodyLimit: this.options.bodyLimit ?? 1024 * 1024,
        requestTimeout: this.options.requestTimeout ?? 60_000,
        cors: this.options.cors ?? false,
        development,
        logger: this.options.logger ?? true,
        docs: this.options.docs ?? true,
      },
    );
    if (this.options.mcp?.enabled !== false) {
      const facts = { className: this.className, version: this.options.version ?? '0.0.0', options: this.options.mcp ?? {}, bindHost: hostname, adminPolicy };
      this.mcp.mount(this.#app, { ...facts, status: () => this.#status });
    }
    await this.configureApp(this.#app);
    this.#connections = trackConnections(this.#app.server);
    try {
      await this.#app.listen({ host: hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) });
    } catch (error) {
      this.#status = ServerStatus.FailedToLaunch;
      await this.#app.close().catch(() => {});
      throw listenError(error, this.#url);
    }
    const address = this.#app.server.address();
    if (address && typeof address === 'object') url.port = String(address.port);
    this.#url = url.href.replace(/\/$/, '');
    if (this.options.pidFile && this.options.writePidFile !== false) {
      mkdirSync(dirname(this.options.pidFile), { recursive: true });
      writeFileSync(this.options.pidFile, `${process.pid}\n`);
    }
    try {
      await this.onStartup();
    } catch (error) {
      this.#status = ServerStatus.FailedToLaunch;
      this.#statusMessage = `onStartup failed: ${(error as Error)?.message ?? String(error)}`;
      await this.#close();
      this.#status = ServerStatus.FailedToLaunch;
      throw error;
    }
    this.#status = ServerStatus.Available;
    this.mcp.preload();
    this.#app.log.info({ url: this.#url, serverId: this.serverId }, `${this.className} available at ${this.#url}`);
    return this.#url;
  }

  /** Hook for extensions (MCP, gateway) to add routes before the server listens. */
  protected async configureApp(_app: FastifyInstance): Promise<void> {}

  /** Stop taking requests, let in-flight ones finish, run `onShutdown`, and become Down. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  /** Resolves once the service is Down, however it got there (stop(), the shutdown endpoint). */
  whenDown(): Promise<void> {
    if (this.#status === ServerStatus.Down) return Promise.resolve();
    return new Promise((resolve) => this.#downListeners.push(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #close(): Promise<void> {
    if (!this.#app && this.#status === ServerStatus.Launching) {
      // Never started (over HTTP or stdio): nothing to drain and no onStartup whose resources onShutdown would close.
      this.#status = ServerStatus.Down;
      for (const listener of this.#downListeners.splice(0)) listener();
      return;
    }
    this.#status = ServerStatus.Stopping;
    // Node closes the connections that are idle when close() starts, but a keep-alive connection
    // whose in-flight request finishes later would hold close() open until its keep-alive timeout.
    const app = this.#app;
    const connections = this.#connections;
    const sweeper = connections ? setInterval(() => connections.closeIdle(), 25) : undefined;
    // Draining has a limit: a request that never ends (a stuck handler, a stream whose caller went
    // away unnoticed) must not keep the service from stopping.
    const limit = this.options.shutdownTimeout ?? 10_000;
    const cutOff = app
      ? setTimeout(() => {
          app.log.warn({ limitMs: limit }, `requests still open ${limit} ms after shutdown began; closing their connections`);
          app.server.closeAllConnections();
        }, limit)
      : undefined;
    let stdioLimit: NodeJS.Timeout | undefined;
    try {
      if (app) await app.close();
      else if (this.#stdioAnswered) {
        // Over stdio, calls in progress are answered before the connection closes (new ones are refused as Stopping).
        await Promise.race([this.#stdioAnswered(), new Promise((resolve) => (stdioLimit = setTimeout(resolve, limit)))]);
      }
    } finally {
      clearInterval(sweeper);
      clearTimeout(cutOff);
      clearTimeout(stdioLimit);
      try {
        await this.onShutdown();
      } finally {
        // Only while it still names this process: another instance given the same file may have taken it over.
        if (this.options.pidFile && this.options.writePidFile !== false) removeStalePidFile(this.options.pidFile, [process.pid]);
        this.#status = ServerStatus.Down;
        for (const listener of this.#downListeners.splice(0)) listener();
      }
    }
  }

  #checkContract(): void {
    const contract = (this.constructor as typeof Service).contract;
    for (const [key, t] of Object.entries(contract.tasks)) {
      const endpoint = this.#endpoints.get(t.name);
      if (!endpoint) {
        throw new DefinitionError(`${this.className} serves contract ${contract.name}, but its task "${key}" has no endpoint: call this.addEndpoint('${t.name}', handler, { schema: ${key} }) in the constructor.`);
      }
      if (endpoint.task !== t) {
        throw new DefinitionError(`${this.className}: the endpoint at "${t.name}" must use the contract's task "${key}" as its schema.`);
      }
    }
  }

  #builtinHandler(name: BuiltinName): (input: unknown, context: RequestContext) => unknown {
    switch (name) {
      case 'endpoints':
        return () => ({ endpoints: [...this.#endpoints.keys()] });
      case 'status':
        return () => ({ status: this.#status });
      case 'heartbeat':
        return async () => ({
          heartbeat: { status: this.#status, server_id: this.serverId, message: this.#statusMessage ?? heartbeatMessage(this.#status, this.className), details: (await this.heartbeatDetails()) ?? null },
        });
      case 'server_id':
        return () => ({ server_id: this.serverId });
      case 'class_name':
        return () => ({ class_name: this.className });
      case 'pid_file':
        return () => ({ pid_file: this.options.pidFile ?? null });
      case 'detailed_endpoints':
        return () => ({ endpoints: Object.fromEntries([...this.#endpoints.values()].map((e) => [e.path, endpointDetail(e)])) });
      case 'shutdown':
        return (_input, context) => {
          context.log.info({}, 'shutdown requested');
          // Answer first, then stop: Fastify's close waits for this reply like any other in-flight request.
          setImmediate(() => void this.stop().catch((error) => context.log.error({ err: error }, 'shutdown failed')));
          return { status: ServerStatus.Stopping };
        };
    }
  }
}

/**
 * The type of `Service.for(contract)`: Service's statics with the contract's type. Written out
 * rather than inferred, because an inferred anonymous class type would carry Service's private
 * fields, which declaration files (ours and our users') cannot express.
 */
export type ServiceBaseFor<K extends AnyContract> = Omit<typeof Service, 'contract' | 'prototype'> & {
  contract: K;
  prototype: Service;
} & (abstract new (options?: ServiceOptions) => Service);

function heartbeatMessage(status: ServerStatus, className: string): string {
  return status === ServerStatus.Available ? `${className} is available.` : `${className} is ${status}.`;
}
