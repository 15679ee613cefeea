/**
 * The MCP side of one service instance: its registry of tools, resources and prompts, the route at
 * `/mcp-server/mcp` (mount and path from the settings), the event bus that carries list changes to
 * connected clients, and the serving runtime, loaded only when it is first needed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerEventBus } from '@modelcontextprotocol/server';
import { ErrorCodes } from '../errors.ts';
import type { ServerStatus } from '../protocol.ts';
import { isAdminRequest, type AdminPolicy } from '../service/admin.ts';
import { addDirectRoute, replayReadBody } from '../service/direct-calls.ts';
import { mcpDirectRoute } from './http/direct-route.ts';
import { McpBus } from './events.ts';
import { hostGuard } from './http/guard.ts';
import { rpcError, sendRpcError } from './http/replies.ts';
import type { McpHttpRuntime } from './http/runtime.ts';
import { mcpPath } from '../config.ts';
import { McpRegistry } from './registry.ts';
import { sessionSecret } from './session-id.ts';
import { CallsInProgress, refuseWhileStopping, whileStopping, windDownWithoutRuntime } from './stopping.ts';

export interface McpOptions {
  /** Serve MCP at all (default true). */
  enabled?: boolean;
  /** DNS rebinding protection: on by default for loopback binds and when an allow-list is given; true or false forces it. */
  dnsRebindingProtection?: boolean;
  /** Host names (with or without port) accepted besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts?: string[];
  /** Browser origins (`https://app.example.com`) accepted besides the loopback ones. */
  allowedOrigins?: string[];
  /** A 2025-era session with no request for this long (ms) is freed; 30 minutes by default. */
  sessionIdleTimeout?: number;
  /** The longest a 2025-era session id stays valid (ms); 24 hours by default. */
  sessionMaxAge?: number;
  /** At most this many 2025-era sessions in memory per process (the longest idle goes first, else the one quiet longest that only holds streams); 10,000 by default. */
  maxSessions?: number;
  /**
   * The key that signs 2025-era session ids. Every worker and replica of the service must share it;
   * defaults to TASKMESH_MCP_SESSION_SECRET, else a random key per process (fine for one process).
   */
  sessionSecret?: string;
  /** Carries change events between replicas (an SDK `ServerEventBus`, over Redis say); in-process and cluster workers by default. */
  events?: ServerEventBus;
  /** The server's `instructions` in the handshake. */
  instructions?: string;
}

/** What the host needs from its service. */
export interface McpServiceFacts {
  className: string;
  version: string;
  options: McpOptions;
  status: () => ServerStatus;
  /** The host name the service listens on. */
  bindHost: string;
  adminPolicy: AdminPolicy;
}

type Log = FastifyInstance['log'];

export class McpHost {
  readonly registry: McpRegistry;
  #bus: McpBus | undefined;
  #runtime: Promise<McpHttpRuntime> | undefined;
  #loaded: McpHttpRuntime | undefined;
  #preload: (() => void) | undefined;
  readonly #calls = new CallsInProgress();

  constructor(serviceName: string) {
    this.registry = new McpRegistry(serviceName);
  }

  /** 2025-era sessions held in this process. */
  get sessionCount(): number {
    return this.#loaded?.sessionCount ?? 0;
  }

  /** Open GET streams of those sessions: the 2025-era clients that notifications reach now. */
  get sessionStreams(): number {
    return this.#loaded?.sessionStreams ?? 0;
  }

  /** Tell clients subscribed to `uri` that the resource changed (notifications/resources/updated). */
  notifyResourceUpdated(uri: string): void {
    this.#bus?.publish({ kind: 'resource_updated', uri });
  }

  /** The event bus of a serving service; made on first use (by mount or by stdio serving). */
  bus(log: Pick<Log, 'warn'>, options: McpOptions): McpBus {
    if (!this.#bus) {
      const bus = new McpBus({ external: options.events, onError: (error) => log.warn({ err: error }, `MCP event delivery failed: ${error.message}`) });
      this.#bus = bus;
      this.registry.onChange = (kind) => bus.publish({ kind: `${kind}_list_changed` });
    }
    return this.#bus;
  }

  /** Register the MCP route on the service's app; its runtime loads on first use, or at `preload()`. */
  mount(app: FastifyInstance, facts: McpServiceFacts): void {
    const path = mcpPath();
    const guard = hostGuard({ bindHost: facts.bindHost, enabled: facts.options.dnsRebindingProtection, allowedHosts: facts.options.allowedHosts, allowedOrigins: facts.options.allowedOrigins });
    const bus = this.bus(app.log, facts.options);
    const load = (): Promise<McpHttpRuntime> => (this.#runtime ??= this.#load(app.log, facts, bus));
    addDirectRoute(
      app.server,
      mcpDirectRoute({ path, guard, status: facts.status, runtime: () => this.#loaded, calls: this.#calls, adminPolicy: facts.adminPolicy }),
    );
    // With a trailing slash too: clients configured from the reference framework's docs add one.
    const mcpRoute = (url: string) => app.route({
      method: ['GET', 'POST', 'DELETE'],
      url,
      schema: { hide: true },
      // What the direct route hands on comes with its body already read.
      preParsing: replayReadBody,
      errorHandler: (error, request, reply) => mcpErrorReply(error, request, reply),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const refusal = guard(request.headers);
        if (refusal) return sendRpcError(reply, 403, -32000, refusal, { code: ErrorCodes.MCP_FORBIDDEN_ORIGIN });
        // Fastify parses text/plain too; MCP messages are JSON only.
        if (request.method === 'POST' && !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
          return sendRpcError(reply, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json.');
        }
        const stopping = whileStopping(request, facts.status());
        if (stopping === 'refuse') return refuseWhileStopping(request, reply, facts.status(), facts.className);
        // A stopping service never loads a runtime: what winds down work goes to the one still draining, if any.
        const runtime = stopping ? this.#loaded : await load();
        if (!runtime) return windDownWithoutRuntime(request, reply);
        this.#calls.track(request, reply.raw);
        return runtime.handle(request, reply, { requestId: request.id, log: request.log, isAdmin: () => isAdminRequest(request, facts.adminPolicy) });
      },
    });
    mcpRoute(path);
    mcpRoute(`${path}/`);
    // Calls in progress finish first: their connections hold server.close() open until they end
    // (or shutdownTimeout closes them), while the listener closes at once. Then the runtime closes,
    // and with it the streams, which never end on their own. Requests that come meanwhile on
    // connections opened before are answered as stopping.ts says.
    let closed: Promise<void> | undefined;
    app.addHook('preClose', async () => {
      const runtime = this.#runtime;
      const bus = this.#bus;
      this.#runtime = undefined;
      closed = this.#calls.idle().then(async () => {
        // Nothing reaches a runtime that is closing.
        this.#loaded = undefined;
        await (await runtime?.catch(() => undefined))?.close();
        bus?.close();
        if (this.#bus === bus) {
          this.#bus = undefined;
          this.registry.onChange = undefined;
        }
      });
    });
    app.addHook('onClose', async () => {
      await closed;
    });
    this.#preload = () => void load().catch((error: unknown) => app.log.error({ err: error }, `MCP serving could not start: ${(error as Error).message}`));
  }

  /** Load the serving runtime now rather than on the first MCP request (called once the service is up). */
  preload(): void {
    this.#preload?.();
  }

  async #load(log: Log, facts: McpServiceFacts, bus: McpBus): Promise<McpHttpRuntime> {
    const { McpHttpRuntime } = await import('./http/runtime.ts');
    const { options } = facts;
    const runtime = await McpHttpRuntime.create({
      spec: { registry: this.registry, info: { name: facts.className, version: facts.version }, instructions: options.instructions, status: facts.status, log },
      bus,
      sessions: {
        secret: sessionSecret(options.sessionSecret),
        idleTimeoutMs: options.sessionIdleTimeout ?? 30 * 60_000,
        maxAgeMs: options.sessionMaxAge ?? 24 * 60 * 60_000,
        maxSessions: options.maxSessions ?? 10_000,
      },
      onError: (error) => log.debug({ err: error }, `MCP: ${error.message}`),
    });
    this.#loaded = runtime;
    return runtime;
  }
}

/** Body errors on the MCP route answer in JSON-RPC, as MCP clients expect, not in the service's error shape. */
function mcpErrorReply(error: { code?: string; statusCode?: number; message: string }, request: FastifyRequest, reply: FastifyReply): void {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      void reply.code(400).send(rpcError(-32700, `Parse error: the body is not valid JSON (${error.message}).`));
      return;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      void reply.code(413).send(rpcError(-32000, `The body is larger than this service accepts; raise the service's bodyLimit option or send less.`));
      return;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      void reply.code(415).send(rpcError(-32000, 'Unsupported Media Type: Content-Type must be application/json.'));
      return;
  }
  request.log.error({ err: error }, `MCP request failed: ${error.message}`);
  void reply.code(error.statusCode && error.statusCode < 600 && error.statusCode >= 400 ? error.statusCode : 500).send(rpcError(-32603, 'Internal error'));
}
