/**
 * Serving MCP over HTTP, both protocol eras on one path:
 *
 * - 2026-07-28 requests (per-request `_meta` envelope) go to the SDK's `createMcpHandler`, with a
 *   server per request and `subscriptions/listen` streams fed by the service's event bus, except
 *   the plain `tools/call`, served directly with the same answer (`ModernCallServing`);
 * - a 2025-era `initialize`, and every request carrying an `Mcp-Session-Id`, go to the sessions;
 * - other 2025-era requests (no session) go to one long-lived server (`StatelessServing`).
 *
 * Loaded on the first MCP request (or just after the service starts), so that the SDK does not
 * slow down a service's start.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { classifyInboundRequest, createMcpHandler, isJSONRPCRequest, legacyStatelessFallback } from '@modelcontextprotocol/server';
import type { JSONRPCRequest } from '@modelcontextprotocol/server';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import type { McpBus } from '../events.ts';
import { createMcpServer, handlersFor, type McpServerSpec } from '../server.ts';
import { nodeAdapter } from './node-adapter.ts';
import { ModernCallServing, isPlainModernRequest, plainModernToolCall } from './modern-call.ts';
import { sendRpcError } from './replies.ts';
import { plainLegacyRequest } from './legacy-request.ts';
import type { RequestLogger } from '../../service/logging.ts';
import { takeOver, takeOverRaw } from '../../service/take-over.ts';
import { SessionStore, type SessionSettings } from './sessions.ts';
import { StatelessServing } from './stateless.ts';

export interface RuntimeSettings {
  spec: Omit<McpServerSpec, 'subscriptions'>;
  bus: McpBus;
  sessions: Omit<SessionSettings, 'publishClosed' | 'onError'>;
  onError: (error: Error) => void;
}

type NodeHandler = ReturnType<Awaited<ReturnType<typeof nodeAdapter>>['toNodeHandler']>;
type FetchHandler = Parameters<Awaited<ReturnType<typeof nodeAdapter>>['toNodeHandler']>[0];

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

function echoableId(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

export class McpHttpRuntime {
  readonly #sessions: SessionStore;
  readonly #stateless: StatelessServing;
  readonly #modernCalls: ModernCallServing;
  readonly #modern: ReturnType<typeof createMcpHandler>;
  readonly #batch: FetchHandler;
  /** Node handlers of the fetch handlers above, made on first use (see ./node-adapter.ts). */
  readonly #nodeHandlers = new Map<FetchHandler, NodeHandler>();
  readonly #unsubscribe: () => void;

  private constructor(sessions: SessionStore, stateless: StatelessServing, modernCalls: ModernCallServing, modern: ReturnType<typeof createMcpHandler>, batch: FetchHandler, unsubscribe: () => void) {
    this.#sessions = sessions;
    this.#stateless = stateless;
    this.#modernCalls = modernCalls;
    this.#modern = modern;
    this.#batch = batch;
    this.#unsubscribe = unsubscribe;
  }

  static async create(settings: RuntimeSettings): Promise<McpHttpRuntime> {
    const { bus, onError } = settings;
    let sessions: SessionStore | undefined = undefined;
    const spec: McpServerSpec = { ...settings.spec, subscriptions: (id) => sessions?.subscriptionsOf(id) };
    const factory = () => createMcpServer(spec);
    sessions = new SessionStore(factory, handlersFor(spec).callTool, { ...settings.sessions, onError, publishClosed: (id, until) => bus.publishSessionClosed(id, until) });
    const store = sessions;
    const unsubscribe = bus.subscribe((event) => store.broadcast(event));
    bus.onSessionClosed((id, until) => store.ended(id, until));
    const stateless = await StatelessServing.start(spec);
    const modern = createMcpHandler(factory, { legacy: 'reject', bus, onerror: onError });
    const batch = { fetch: legacyStatelessFallback(factory, onError) };
    return new McpHttpRuntime(store, stateless, new ModernCallServing(spec), modern, batch, unsubscribe);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get sessionStreams(): number {
    return this.#sessions.streams;
  }

  handle(request: FastifyRequest, reply: FastifyReply, origin: CallOrigin): Promise<unknown> | unknown {
    const sessionId = header(request.headers, 'mcp-session-id');
    if (request.method !== 'POST') {
      if (sessionId !== undefined) return this.#sessions.serve(request, reply, origin, sessionId);
      return sendRpcError(reply, 405, -32000, `Method not allowed: ${request.method} needs an Mcp-Session-Id (a 2025-era session, opened with initialize); 2026-07-28 clients POST, and listen with subscriptions/listen.`);
    }
    const body = request.body;
    if (body === undefined) return sendRpcError(reply, 400, -32700, 'Parse error: the request body is empty; send a JSON-RPC message.');
    if (sessionId !== undefined) return this.#sessions.serve(request, reply, origin, sessionId);
    const versionHeader = header(request.headers, 'mcp-protocol-version');
    if (plainLegacyRequest(body, versionHeader)) return this.#stateless.handle(request, reply, body, origin);
    if (isPlainModernRequest(body)) {
      const call = plainModernToolCall(body, request.headers);
      if (call) return this.#modernCalls.handle(request, reply, body, call, origin);
    }
    const outcome = classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: versionHeader,
      mcpMethodHeader: header(request.headers, 'mcp-method'),
      mcpNameHeader: header(request.headers, 'mcp-name'),
      body,
    });
    switch (outcome.kind) {
      case 'modern':
        if (outcome.messageKind === 'request') {
          const call = plainModernToolCall(outcome.message, request.headers);
          if (call) return this.#modernCalls.handle(request, reply, outcome.message, call, origin);
        }
        return this.#viaNode(this.#modern, request, reply, origin);
      case 'reject':
        return sendRpcError(reply, outcome.httpStatus, outcome.code, outcome.message, outcome.data, echoableId(body));
      case 'legacy':
        if (outcome.reason === 'initialize') return this.#sessions.open(request, reply, origin, (body as { params?: Record<string, unknown> }).params ?? {});
        if (isJSONRPCRequest(body)) return this.#stateless.handle(request, reply, body, origin);
        // A batch (2025-03-26) is rare enough for the SDK's per-request serving.
        if (Array.isArray(body)) return this.#viaNode(this.#batch, request, reply, origin);
        // Notifications and responses without a session have nobody to go to.
        return reply.code(202).send();
    }
  }

  /**
   * Whether a request may be answered beside Fastify, by its headers (see ../direct-route.ts):
   * without a session, or for a session held in this process.
   */
  takesDirectly(headers: IncomingHttpHeaders): boolean {
    const session = header(headers, 'mcp-session-id');
    return session === undefined ? this.#stateless.takesHeaders(headers) : this.#sessions.takesDirectly(session, headers);
  }

  /** Whether a body read beside Fastify is a request answered there: a plain 2025-era one, to a session still held here if it names one. */
  takesBody(req: IncomingMessage, body: unknown): body is JSONRPCRequest {
    if (!plainLegacyRequest(body, header(req.headers, 'mcp-protocol-version'))) return false;
    const session = header(req.headers, 'mcp-session-id');
    return session === undefined || this.#sessions.takesDirectly(session, req.headers);
  }

  /** Answer beside Fastify a request that `takesBody` took, as `handle` would through Fastify. */
  answerDirectly(req: IncomingMessage, res: ServerResponse, message: JSONRPCRequest, origin: CallOrigin, log: RequestLogger | undefined): void {
    const session = header(req.headers, 'mcp-session-id');
    if (session === undefined) return this.#stateless.answer(message, res, req.url!, origin, log);
    takeOverRaw(res, origin.requestId, log, 'POST', req.url!);
    this.#sessions.answerDirectly(session, req, res, message, origin);
  }

  async #viaNode(handler: FetchHandler, request: FastifyRequest, reply: FastifyReply, origin: CallOrigin): Promise<void> {
    let node = this.#nodeHandlers.get(handler);
    if (!node) {
      const { toNodeHandler } = await nodeAdapter();
      node = this.#nodeHandlers.get(handler) ?? toNodeHandler(handler);
      this.#nodeHandlers.set(handler, node);
    }
    const raw = takeOver(reply);
    await withCallOrigin(origin, () => node(request.raw, raw, request.body));
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await Promise.allSettled([this.#sessions.closeAll(), this.#modern.close(), this.#stateless.close()]);
  }
}
