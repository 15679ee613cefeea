/**
 * The plain `tools/call` of a 2025-era session (`directToolCall` in ./legacy-request.ts), served
 * straight by the tool handler as on the stateless path (./stateless.ts), without the session
 * server's per-request work: its schema checks of the message, the request and the result, which
 * the handler's own checks already cover, cost about a tenth of a session call. The handler still
 * gets what a session gives it: the session's log level, notifications on its request's stream,
 * and requests to the client (elicitation, sampling) through the session's server, whose answers
 * come back to that server as for any other request. The answer is the server's, key for key.
 */
import type { JSONRPCMessage, JSONRPCRequest, RequestId, Server, ServerContext } from '@modelcontextprotocol/server';
import type { handlersFor } from '../server.ts';
import { DirectRequest } from './direct-request.ts';
import { thrownRpcError } from './replies.ts';
import type { RequestControls, SessionTransport } from './session-transport.ts';

type CallTool = ReturnType<typeof handlersFor>['callTool'];

/** The log levels by severity, as the protocol orders them (RFC 5424). */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** What a session call uses of its session. */
export interface CallSession {
  server: Server;
  transport: SessionTransport;
  /** The level the client set with `logging/setLevel`, if it did. */
  logLevel: string | undefined;
}
type Params = { name: string; arguments?: Record<string, unknown> };
type SendArgs = [request: { method: string; params?: Record<string, unknown> }, schemaOrOptions?: unknown, options?: Record<string, unknown>];

function isStandardSchema(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && '~standard' in value;
}

/** What the handler sees of the SDK: what the session server's context gives a request. */
class SessionRequest extends DirectRequest {
  readonly method = 'tools/call';
  readonly #session: CallSession;
  readonly #server: Server;

  constructor(id: RequestId, session: CallSession, signal: AbortSignal) {
    super(id, { notify: (message: JSONRPCMessage) => void session.transport.send(message, { relatedRequestId: id }) }, () => signal);
    this.#session = session;
    this.#server = session.server;
  }

  send(...[request, schemaOrOptions, options]: SendArgs): Promise<unknown> {
    const server = this.#server as unknown as { request: (...args: unknown[]) => Promise<unknown> };
    if (isStandardSchema(schemaOrOptions)) return server.request(request, schemaOrOptions, { ...options, relatedRequestId: this.id });
    return server.request(request, { ...(schemaOrOptions as Record<string, unknown> | undefined), relatedRequestId: this.id });
  }

  log(level: string, data: unknown, logger?: string): Promise<void> {
    const threshold = this.#session.logLevel;
    if (!this.#server.getCapabilities().logging || (threshold !== undefined && LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(threshold))) return Promise.resolve();
    return this.notify({ method: 'notifications/message', params: { level, data, ...(logger === undefined ? {} : { logger }) } });
  }

  elicitInput(...args: Parameters<Server['elicitInput']>): ReturnType<Server['elicitInput']> {
    return this.#server.elicitInput(...args);
  }

  requestSampling(...args: Parameters<Server['createMessage']>): ReturnType<Server['createMessage']> {
    return this.#server.createMessage(...args);
  }
}

class SessionCallContext {
  readonly sessionId: string;
  readonly mcpReq: SessionRequest;
  readonly http: { closeSSE?: () => void; closeStandaloneSSE?: () => void } | undefined;

  constructor(sessionId: string, mcpReq: SessionRequest, controls: RequestControls) {
    this.sessionId = sessionId;
    this.mcpReq = mcpReq;
    this.http = controls.closeSSEStream ? { closeSSE: controls.closeSSEStream, closeStandaloneSSE: controls.closeStandaloneSSEStream } : undefined;
  }
}

/**
 * Run the call, answering on the request's stream; a client's `notifications/cancelled` for it
 * aborts the handler (`cancel`), whose answer is then dropped, as the server drops it.
 */
export function serveSessionCall(
  callTool: CallTool,
  session: CallSession,
  message: JSONRPCRequest,
  params: Params,
  controls: RequestControls,
): { cancel: (reason: unknown) => void; done: Promise<void> } {
  const { transport } = session;
  const cancelled = new AbortController();
  const mcpReq = new SessionRequest(message.id, session, cancelled.signal);
  const context = new SessionCallContext(transport.sessionId!, mcpReq, controls) as unknown as ServerContext;
  const answer = (response: object): Promise<void> => (cancelled.signal.aborted ? Promise.resolve() : transport.send(response as JSONRPCMessage));
  const done = callTool({ params }, context).then(
    (result) => answer({ result, jsonrpc: '2.0', id: message.id }),
    (error: Parameters<typeof thrownRpcError>[0]) => answer(thrownRpcError(error, message.id)),
  );
  return { cancel: (reason) => cancelled.abort(reason), done };
}
