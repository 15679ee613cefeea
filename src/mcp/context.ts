/**
 * What an MCP handler (a tool, a resource, a prompt) gets besides its input. The transport that
 * received the call (an HTTP request, a session stream, stdio) puts its request id, logger and
 * caller facts into an AsyncLocalStorage frame before it hands the message to the SDK, so the
 * handlers find them without the SDK having to carry them through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ServerContext } from '@modelcontextprotocol/server';
import type { RequestContext } from '../service/endpoint.ts';

type Logger = RequestContext['log'];

/** Facts about the caller, set by the transport that received the MCP message. */
export interface CallOrigin {
  requestId: string;
  log: Logger;
  /** May the caller use admin-scoped tools (the same rule as for admin HTTP endpoints)? */
  isAdmin: () => boolean;
  /**
   * The call's HTTP request as a web Request, for transports that make it on first use (the SDK's
   * `ctx.http.req`): it costs more than a small call, and few handlers read it.
   */
  webRequest?: (() => Request) | undefined;
}

const origins = new AsyncLocalStorage<CallOrigin>();

/** Run `fn` with `origin` as the caller of every MCP handler it starts. */
export function withCallOrigin<T>(origin: CallOrigin, fn: () => T): T {
  return origins.run(origin, fn);
}

/** The caller of the current MCP handler; a fresh request id and the fallback logger when no transport set one. */
export function currentCallOrigin(fallbackLog: Logger): CallOrigin {
  return origins.getStore() ?? { requestId: randomUUID(), log: fallbackLog, isAdmin: () => true };
}

/**
 * The context of a tool, resource or prompt handler: the service's request context (request id,
 * logger, abort signal) plus the MCP request. An `asTool` endpoint gets the same object, so its
 * handler can tell an MCP call (`'mcp' in context`) from an HTTP one.
 */
export interface McpContext extends RequestContext {
  /**
   * The SDK's context of this request: `mcp.mcpReq.log(level, data)` sends a log message to the
   * client, `mcp.mcpReq.elicitInput(...)` and `mcp.mcpReq.requestSampling(...)` ask the client
   * (2025-era sessions), `mcp.mcpReq.notify(...)` sends any related notification,
   * `mcp.sessionId` names the 2025-era session, and `mcp.http?.closeSSE?.()` ends the
   * response stream early so that the client resumes it (SEP-1699).
   */
  mcp: ServerContext;
  /** Report progress to a caller that asked for it (it sent a progressToken); a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

/**
 * A class, not an object literal with a getter: V8 keeps what such a getter closes over (the
 * request and its reply) alive through young-generation collections, about 4 KB promoted and tens
 * of microseconds of GC per call under load (found by the benchmark).
 */
class HandlerContext implements McpContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly mcp: ServerContext;

  constructor(sdk: ServerContext, origin: CallOrigin) {
    this.requestId = origin.requestId;
    this.log = origin.log;
    this.mcp = sdk;
  }

  // Read on use: the direct stateless path makes its abort signal only when a handler asks.
  get signal(): AbortSignal {
    return this.mcp.mcpReq.signal;
  }

  progress(progress: number, total?: number, message?: string): Promise<void> {
    const progressToken = this.mcp.mcpReq._meta?.progressToken;
    if (progressToken === undefined) return Promise.resolve();
    return this.mcp.mcpReq.notify({
      method: 'notifications/progress',
      params: { progressToken, progress, ...(total === undefined ? {} : { total }), ...(message === undefined ? {} : { message }) },
    });
  }
}

type HttpContext = NonNullable<ServerContext['http']>;

/** `ctx.http` whose `req` is made on first read. */
class LazyHttp implements HttpContext {
  readonly authInfo: HttpContext['authInfo'];
  readonly closeSSE: HttpContext['closeSSE'];
  readonly closeStandaloneSSE: HttpContext['closeStandaloneSSE'];
  readonly #build: () => Request;
  #req: Request | undefined;

  constructor(base: HttpContext | undefined, build: () => Request) {
    this.authInfo = base?.authInfo;
    this.closeSSE = base?.closeSSE;
    this.closeStandaloneSSE = base?.closeStandaloneSSE;
    this.#build = build;
  }

  get req(): Request {
    return (this.#req ??= this.#build());
  }
}

export function mcpContext(sdk: ServerContext, fallbackLog: Logger): McpContext {
  const origin = currentCallOrigin(fallbackLog);
  if (origin.webRequest && !sdk.http?.req) sdk.http = new LazyHttp(sdk.http, origin.webRequest);
  return new HandlerContext(sdk, origin);
}
