/**
 * Gateway: a Service that registers apps by name and forwards `/{app}/{rest}` to them. Its
 * registry lives in memory, or in a state file that survives restarts; its heartbeat reports on
 * every app; apps are health-checked at an interval.
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { probe } from '../client/liveness.ts';
import { normalizeUrl, settings } from '../config.ts';
import { AppNotRegisteredError, ConfigError, InvalidInputError } from '../errors.ts';
import { markDirectPathSafe } from '../service/direct-calls.ts';
import { Service, type ServiceOptions } from '../service/service.ts';
import type { EndpointHandler } from '../service/endpoint.ts';
import { GatewayClient } from './client.ts';
import { GatewayContract, listApps, registerApp, unregisterApp } from './contract.ts';
import { McpFederation } from './federation.ts';
import { watchOwnBodies } from './own-bodies.ts';
import { forwardingRoutes } from './forward.ts';
import { StalledCallers } from './stalled-callers.ts';
import { trustedProxies, type TrustsProxy } from './trusted-proxies.ts';
import { HealthMonitor, checkAll, checkApp } from './health.ts';
import { WORKER_ROLE_ENV } from '../launch/messages.ts';
import { clusterStore } from './cluster-store.ts';
import { redisStore } from './redis-store.ts';
import { AppRegistry, memoryStore, type RegistryStore } from './registry.ts';
import { stateFileStore } from './state-file.ts';

export interface GatewayOptions extends ServiceOptions {
  /** Keep the registry in this JSON file, so that it survives restarts. In memory only by default. */
  stateFile?: string;
  /**
   * Keep the registry in Redis at this URL (`redis://host:6379`), shared by every gateway replica
   * given the same URL and `redisKey`: an app registered through one is forwarded by all. Needs the
   * `@redis/client` package. Instead of `stateFile`.
   */
  redisUrl?: string;
  /** The prefix of the registry's Redis keys; `taskmesh:gateway` by default. Replicas that share a registry share it. */
  redisKey?: string;
  /** Milliseconds the gateway waits for an app's reply headers (and between body chunks); 60 s by default. Past it: 504. */
  upstreamTimeout?: number;
  /**
   * Milliseconds a caller may stall, 60 s by default, 0 for no limit: a request body that stops
   * arriving while the gateway reads it is answered 408, a reply the caller stops reading is cut;
   * either way the connection is closed and the app's request ended.
   */
  callerIdleTimeout?: number;
  /**
   * As for a service (ms to receive a whole request), but 0, no limit, by default: a forwarded
   * upload may take any time while it keeps arriving, and callerIdleTimeout ends one that stops.
   */
  requestTimeout?: number;
  /**
   * Addresses or CIDR ranges of proxies in front of the gateway (`10.0.0.0/8`, `::1`), whose
   * Forwarded, X-Forwarded-* and X-Real-IP headers it passes on, appending to X-Forwarded-For.
   * From any other caller those are replaced: X-Forwarded-For is the caller's address, so that an
   * app can believe it. None by default.
   */
  trustedProxies?: string[];
  /** Milliseconds between health checks of every app; 10 s by default, 0 for none. */
  healthCheckInterval?: number;
  /** Milliseconds an app has to answer a health check (and the gateway's heartbeat); 2 s by default. */
  healthCheckTimeout?: number;
}

/**
 * Where the registry lives: in Redis, shared by every replica; in the cluster's primary, shared by
 * the workers of a gateway launched with `numWorkers > 1`; or in this process (and its state file).
 */
function registryStore(options: GatewayOptions, warn: (error: Error) => void): RegistryStore {
  if (options.redisUrl !== undefined) {
    if (options.stateFile !== undefined) {
      throw new ConfigError('A gateway keeps its registry in Redis (redisUrl) or in a state file (stateFile), not both: Redis already keeps it across restarts; drop one.');
    }
    return redisStore({ url: options.redisUrl, key: options.redisKey ?? 'taskmesh:gateway', onError: warn });
  }
  if (!cluster.isWorker) return options.stateFile ? stateFileStore(options.stateFile) : memoryStore();
  if (process.env[WORKER_ROLE_ENV] === 'worker') return clusterStore(options.stateFile);
  // A cluster of the user's own: no primary of ours keeps the registry, and each worker's would diverge.
  throw new ConfigError(
    "A Gateway in a cluster keeps one registry in the cluster's primary, which only taskmesh's launcher sets up: launch it with `Gateway.launch({ numWorkers })` rather than forking workers yourself (or share the registry in Redis with `redisUrl`).",
  );
}

export class Gateway extends Service.for(GatewayContract, import.meta.url) {
  /** `Gateway.connect(url)` and `Gateway.launch()` return a GatewayClient. */
  static override connectionManager = GatewayClient;

  static {
    // Its forwarding adds a direct route of its own (./forward.ts); a subclass's configureApp does not keep it.
    markDirectPathSafe(this.prototype.configureApp);
  }

  readonly registry: AppRegistry;
  /** The apps' MCP tools on the gateway's own MCP endpoint; undefined when MCP is off (`mcp: { enabled: false }`). */
  readonly federation: McpFederation | undefined;
  readonly #health: HealthMonitor;
  readonly #upstreamTimeout: number;
  readonly #checkTimeout: number;
  readonly #stalledCallers: StalledCallers;
  readonly #trustsProxy: TrustsProxy;

  constructor(options: GatewayOptions = {}) {
    super({ ...options, requestTimeout: options.requestTimeout ?? 0 });
    this.registry = new AppRegistry(registryStore(options, (error) => this.app?.log.warn({ err: error }, `gateway registry: ${error.message}`)));
    this.#upstreamTimeout = options.upstreamTimeout ?? 60_000;
    this.#checkTimeout = options.healthCheckTimeout ?? 2_000;
    this.#stalledCallers = new StalledCallers(options.callerIdleTimeout ?? 60_000);
    this.#trustsProxy = trustedProxies(options.trustedProxies);
    this.#health = new HealthMonitor(this.registry, { interval: options.healthCheckInterval ?? 10_000, timeout: this.#checkTimeout });
    this.federation =
      options.mcp?.enabled === false
        ? undefined
        : new McpFederation(this.registry, this.mcp.registry, { timeout: this.#upstreamTimeout, log: () => this.app?.log });
    this.addEndpoint('register_app', this.registerApp, { schema: registerApp });
    this.addEndpoint('unregister_app', this.unregisterApp, { schema: unregisterApp });
    this.addEndpoint('list_apps', this.listApps, { schema: listApps, methods: ['GET', 'POST'] });
  }

  registerApp: EndpointHandler<typeof registerApp> = async ({ name, url }, context) => {
    this.#checkName(name);
    await this.#checkNotSelf(url);
    const app = await this.registry.register(name, url);
    await checkApp(this.registry, app, this.#checkTimeout);
    // Its MCP tools are listed by the time the reply leaves, unless reading them takes longer than a health check.
    await this.#federationSettled();
    context.log.info({ app: name, url: app.url, health: app.health.status }, `app "${name}" registered`);
    return this.registry.info(app);
  };

  unregisterApp: EndpointHandler<typeof unregisterApp> = async ({ name }, context) => {
    if (!(await this.registry.remove(name))) throw new AppNotRegisteredError(name, this.registry.names());
    await this.#federationSettled();
    context.log.info({ app: name }, `app "${name}" unregistered`);
    return { removed: name };
  };

  listApps: EndpointHandler<typeof listApps> = () => ({
    apps: Object.fromEntries(this.registry.apps().map((app) => [app.name, this.registry.info(app)])),
  });

  /** Every app's heartbeat, keyed by app name; an app that does not answer is Down. */
  override async heartbeatDetails(): Promise<unknown> {
    return checkAll(this.registry, this.#checkTimeout);
  }

  override async onStartup(): Promise<void> {
    await super.onStartup();
    // Apps restored from a state file learn their health and endpoints without delaying start-up.
    void checkAll(this.registry, this.#checkTimeout)
      .then(() => this.federation?.refreshMissing())
      .catch(() => {});
    this.#health.start();
  }

  override async onShutdown(): Promise<void> {
    await this.#health.stop();
    await this.federation?.close();
    await this.registry.close();
    this.#stalledCallers.close();
    await super.onShutdown();
  }

  protected override async configureApp(app: FastifyInstance): Promise<void> {
    await super.configureApp(app);
    await this.registry.load();
    const apps = this.registry.names().length;
    app.log.info({ registry: this.registry.storeDescription, apps }, `registry: ${this.registry.storeDescription}, ${apps} app${apps === 1 ? '' : 's'} restored`);
    watchOwnBodies(app.server, this.registry, this.#stalledCallers, (message) => app.log.warn(message));
    await app.register(forwardingRoutes, {
      registry: this.registry,
      upstreamTimeout: this.#upstreamTimeout,
      stalledCallers: this.#stalledCallers,
      trustsProxy: this.#trustsProxy,
      gatewayId: this.serverId,
    });
  }

  async #federationSettled(): Promise<void> {
    if (!this.federation) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.federation.settled(), new Promise((resolve) => (timer = setTimeout(resolve, this.#checkTimeout)))]);
    clearTimeout(timer);
  }

  /** Names the gateway serves itself cannot be apps: their paths would never be forwarded. */
  #checkName(name: string): void {
    const mountSegment = settings().mcpMountPath.split('/').filter(Boolean)[0];
    const reserved = new Set([...this.endpoints.keys(), 'docs', ...(mountSegment ? [mountSegment] : [])]);
    if (reserved.has(name)) {
      throw new InvalidInputError(`"${name}" is a path of the gateway itself and cannot name an app; choose another name.`, [
        { path: ['name'], message: `Reserved by the gateway: ${[...reserved].sort().join(', ')}` },
      ]);
    }
  }

  /**
   * Registering the gateway under its own URL would make every request forward to itself forever.
   * Whatever the spelling (a loopback address, a LAN address of a gateway bound to 0.0.0.0, a host
   * name), the gateway answers there with its own server id, which its cluster workers share. An
   * address that does not answer yet is let through, as a Down app; should it lead here later, or
   * through another gateway, forwarding knows its own requests by their Via header (508).
   */
  async #checkNotSelf(url: string): Promise<void> {
    const normal = normalizeUrl(url);
    // With a path, the origin too: the gateway under a prefix of its own forwards to itself.
    const origin = new URL(normal).origin;
    for (const candidate of new Set([normal, origin])) {
      const probed = await probe(candidate, 'server_id', { timeout: this.#checkTimeout }).catch(() => undefined);
      if (probed?.kind === 'answered' && probed.reply.server_id === this.serverId) {
        throw new InvalidInputError(`${url} is this gateway itself; register the app's own URL.`, [{ path: ['url'], message: 'Points at the gateway' }]);
      }
    }
  }
}
