/**
 * 2025-era sessions: `initialize` opens one (an SDK server and a Streamable HTTP transport, with a
 * GET stream for notifications and resumable SSE); its id is signed and carries the handshake, so
 * a process that has not seen the session (another worker, or this one after the idle time-out
 * freed it) rebuilds it by replaying the handshake. Sessions idle longer than the time-out, with
 * no request or stream open, are freed.
 *
 * A POST of one plain request, the bulk of a session's traffic, is answered by the session's own
 * transport on the Node response (./session-transport.ts), and a plain tool call without the
 * session's server (./session-call.ts); both can come beside Fastify (../direct-route.ts), for a
 * session held in this process. The rest goes through the SDK's transport as web requests.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SdkError, SdkErrorCode } from '@modelcontextprotocol/server';
import type { JSONRPCRequest, RequestId, Server, ServerEvent } from '@modelcontextprotocol/server';
import { ErrorCodes } from '../../errors.ts';
import { takeOver } from '../../service/take-over.ts';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import { notifyServer, type handlersFor } from '../server.ts';
import { signSessionId, verifySessionId, type SessionClaims } from '../session-id.ts';
import { directToolCall, plainLegacyRequest, plainNotificationOrResponse } from './legacy-request.ts';
import { nodeAdapter } from './node-adapter.ts';
import { sendRpcError, webRequest, writeWebResponse } from './replies.ts';
import { LOG_LEVELS, serveSessionCall } from './session-call.ts';
import { SessionTransport, writeStreamConflict } from './session-transport.ts';
import { StreamRelay } from './stream-relay.ts';

export interface SessionSettings {
  secret: string;
  idleTimeoutMs: number;
  maxAgeMs: number;
  maxSessions: number;
  /** Tell the other processes that a client ended its session (DELETE). */
  publishClosed: (id: string, until: number) => void;
  onError: (error: Error) => void;
}

interface Session {
  id: string;
  server: Server;
  transport: SessionTransport;
  subscriptions: Set<string>;
  lastSeen: number;
  /** Requests and streams of the session still open: a session with any is never idle. */
  open: number;
  /** Of those, GET streams. */
  streams: number;
  /** The level the client set with `logging/setLevel`, if it did (the server keeps its own too). */
  logLevel: string | undefined;
  /** Plain tool calls served without the server (./session-call.ts) and running: how to cancel each. */
  calls: Map<RequestId, (reason: unknown) => void>;
  until: number;
}

type CallTool = ReturnType<typeof handlersFor>['callTool'];

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #rebuilding = new Map<string, Promise<Session | undefined>>();
  /** Ended sessions, until their ids would have expired anyway. */
  readonly #ended = new Map<string, number>();
  readonly #createServer: () => Server;
  readonly #callTool: CallTool;
  readonly #settings: SessionSettings;
  readonly #timer: NodeJS.Timeout;
  /** In a cluster worker: streams held by other workers, and this one's for them. */
  readonly #relay: StreamRelay | undefined;

  constructor(createServer: () => Server, callTool: CallTool, settings: SessionSettings) {
    this.#createServer = createServer;
    this.#callTool = callTool;
    this.#settings = settings;
    this.#relay = StreamRelay.start((id, lastEventId, out) => this.#sessions.get(id)?.transport.resumeElsewhere(lastEventId, out) ?? { outcome: 'unknown' });
    this.#timer = setInterval(() => this.sweep(), Math.max(25, Math.min(settings.idleTimeoutMs / 2, 60_000)));
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Open GET streams of the sessions: the clients that notifications reach right now. */
  get streams(): number {
    let streams = 0;
    for (const session of this.#sessions.values()) streams += session.streams;
    return streams;
  }

  subscriptionsOf(id: string | undefined): Set<string> | undefined {
    return id === undefined ? undefined : this.#sessions.get(id)?.subscriptions;
  }

  /** An `initialize` without a session: open a session and answer the handshake through it. */
  async open(request: FastifyRequest, reply: FastifyReply, origin: CallOrigin, params: Record<string, unknown>): Promise<void> {
    const claims: SessionClaims = {
      protocolVersion: String(params.protocolVersion ?? ''),
      capabilities: (params.capabilities as Record<string, unknown> | undefined) ?? {},
      clientInfo: (params.clientInfo as SessionClaims['clientInfo'] | undefined) ?? { name: 'unknown', version: '0' },
      issuedAt: Date.now(),
    };
    const session = await this.#build(signSessionId(claims, this.#settings.secret), claims.issuedAt);
    await this.#exchange(session, request, reply, origin);
    // A handshake the server refused leaves no session behind.
    if (!this.#sessions.has(session.id)) await session.server.close().catch(() => {});
  }

  async serve(request: FastifyRequest, reply: FastifyReply, origin: CallOrigin, id: string): Promise<unknown> {
    const session = this.#sessions.get(id) ?? (await this.#rebuild(id));
    if (!session) {
      return sendRpcError(reply, 404, -32001, 'Session not found: the session id is unknown, expired or ended. Start a new session with initialize.', {
        code: ErrorCodes.MCP_SESSION,
      });
    }
    await this.#exchange(session, request, reply, origin);
    return undefined;
  }

  /** Pass a change event to the sessions of this process (their GET streams). */
  broadcast(event: ServerEvent): void {
    for (const { server, subscriptions } of this.#sessions.values()) {
      notifyServer(server, event, subscriptions)?.catch((error: unknown) => this.#settings.onError(error as Error));
    }
  }

  /** Another process ended a session: forget it here too, and never rebuild it. */
  ended(id: string, until: number): void {
    this.#ended.set(id, until);
    const session = this.#sessions.get(id);
    if (session) this.#discard(session);
  }

  /** Free sessions idle for longer than the time-out; forget ended ids that have expired. */
  sweep(now = Date.now()): void {
    for (const session of [...this.#sessions.values()]) {
      if (session.open === 0 && now - session.lastSeen >= this.#settings.idleTimeoutMs) this.#discard(session);
    }
    for (const [id, until] of this.#ended) if (until < now) this.#ended.delete(id);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    this.#relay?.close();
    await Promise.all([...this.#sessions.values()].map((s) => this.#discard(s)));
  }

  async #build(id: string, issuedAt: number): Promise<Session> {
    if (this.#sessions.size >= this.#settings.maxSessions) this.#makeRoom();
    const server = this.#createServer();
    const session: Session = { id, server, transport: undefined as never, subscriptions: new Set(), logLevel: undefined, calls: new Map(), lastSeen: Date.now(), open: 0, streams: 0, until: issuedAt + this.#settings.maxAgeMs };
    session.transport = new SessionTransport({
      sessionId: id,
      eventIdPrefix: this.#relay?.eventIdPrefix,
      onsessioninitialized: () => void this.#sessions.set(id, session),
      onsessionclosed: () => {
        this.#ended.set(id, session.until);
        this.#settings.publishClosed(id, session.until);
      },
    });
    server.onclose = () => {
      if (this.#sessions.get(id) === session) this.#sessions.delete(id);
      // As the server aborts the handlers it runs when its session ends.
      if (session.calls.size === 0) return;
      const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
      for (const cancel of session.calls.values()) cancel(closed);
      session.calls.clear();
    };
    server.onerror = (error) => this.#settings.onError(error);
    await server.connect(session.transport);
    return session;
  }

  #rebuild(id: string): Promise<Session | undefined> {
    let pending = this.#rebuilding.get(id);
    if (!pending) {
      pending = this.#replayHandshake(id).finally(() => this.#rebuilding.delete(id));
      this.#rebuilding.set(id, pending);
    }
    return pending;
  }

  async #replayHandshake(id: string): Promise<Session | undefined> {
    if (this.#ended.has(id)) return undefined;
    const claims = verifySessionId(id, this.#settings.secret, this.#settings.maxAgeMs);
    if (!claims) return undefined;
    const session = await this.#build(id, claims.issuedAt);
    const post = async (body: Record<string, unknown>, headers: Record<string, string>): Promise<void> => {
      const response = await session.transport.handleRequest(new Request('http://localhost/', { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) }), {
        parsedBody: body,
      });
      await response.text();
    };
    const { protocolVersion, capabilities, clientInfo } = claims;
    await post({ jsonrpc: '2.0', id: 'taskmesh-session-rebuild', method: 'initialize', params: { protocolVersion, capabilities, clientInfo } }, {});
    if (!this.#sessions.has(id)) {
      await session.server.close().catch(() => {});
      return undefined;
    }
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id, 'mcp-protocol-version': session.server.getNegotiatedProtocolVersion() ?? protocolVersion });
    return session;
  }

  async #exchange(session: Session, request: FastifyRequest, reply: FastifyReply, origin: CallOrigin): Promise<void> {
    const raw = takeOver(reply);
    this.#track(session, raw, request.method === 'GET');
    const { method, headers, body } = request;
    if (method === 'GET') {
      const lastEventId = headers['last-event-id'];
      if (typeof lastEventId === 'string' && headers.accept?.includes('text/event-stream')) {
        if (session.transport.resume(lastEventId, raw)) return;
        const holder = this.#relay?.holderOf(lastEventId);
        if (holder !== undefined) return this.#resumeElsewhere(session, holder, lastEventId, request, raw, origin);
      }
    }
    if (method === 'POST' && plainLegacyRequest(body, headers['mcp-protocol-version']) && session.transport.takes(headers)) {
      return this.#post(session, body, headers, request.url, raw, origin);
    }
    if (method === 'POST' && plainNotificationOrResponse(body) && session.transport.takes(headers)) {
      withCallOrigin(origin, () => session.transport.accept(body, raw));
      return this.#answerCancelled(session, body);
    }
    if (method === 'DELETE' && session.transport.ends(headers)) return session.transport.end(raw).catch((error: unknown) => this.#failed(raw, error));
    return this.#throughSdk(session, request, raw, origin);
  }

  /** Serve the exchange through the SDK transport, as web requests; a GET stream opened there goes out after `before`, events it missed elsewhere. */
  async #throughSdk(session: Session, request: FastifyRequest, raw: ServerResponse, origin: CallOrigin, before?: string): Promise<void> {
    const { method, body } = request;
    const gone = new AbortController();
    raw.once('close', () => {
      if (!raw.writableFinished) gone.abort();
    });
    try {
      const { toWebRequest } = await nodeAdapter();
      const web = await toWebRequest(request.raw, body, { signal: gone.signal });
      const response = await withCallOrigin(origin, () => session.transport.handleRequest(web, { parsedBody: body }));
      if (method === 'POST') {
        this.#noteLogLevel(session, body);
        this.#answerCancelled(session, body);
      }
      await writeWebResponse(raw, response, before);
    } catch (error) {
      this.#failed(raw, error);
    }
  }

  /**
   * A GET with Last-Event-ID of an event another worker holds (./stream-relay.ts): that worker's
   * stream is relayed here. When it holds nothing of the event, the SDK transport answers as for
   * any unknown id; the session's GET stream opens here after the events it missed there.
   */
  #resumeElsewhere(session: Session, holder: number, lastEventId: string, request: FastifyRequest, raw: ServerResponse, origin: CallOrigin): void {
    this.#relay!.resume(holder, session.id, lastEventId, raw, {
      open: () => {
        raw.writeHead(200, session.transport.sseHead);
        raw.flushHeaders();
      },
      conflict: () => writeStreamConflict(raw),
      unknown: () => void this.#throughSdk(session, request, raw, origin),
      standalone: (missed) => {
        delete request.raw.headers['last-event-id'];
        void this.#throughSdk(session, request, raw, origin, missed);
      },
    });
  }

  #failed(raw: ServerResponse, error: unknown): void {
    this.#settings.onError(error as Error);
    if (!raw.headersSent) raw.writeHead(500, { 'content-type': 'application/json' });
    raw.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }));
  }

  /** Whether a POST of one plain request with these headers, to a session held here, may be answered beside Fastify. */
  takesDirectly(id: string, headers: IncomingHttpHeaders): boolean {
    return this.#sessions.get(id)?.transport.takes(headers) === true;
  }

  /** Answer beside Fastify a request that `takesDirectly` took, as `serve` would through Fastify. */
  answerDirectly(id: string, req: IncomingMessage, res: ServerResponse, message: JSONRPCRequest, origin: CallOrigin): void {
    const session = this.#sessions.get(id)!;
    this.#track(session, res, false);
    this.#post(session, message, req.headers, req.url!, res, origin);
  }

  /** Count a request or stream of the session as open until its response closes: a session with any is never idle. */
  #track(session: Session, raw: ServerResponse, isStream: boolean): void {
    const stream = isStream ? 1 : 0;
    session.open++;
    session.streams += stream;
    session.lastSeen = Date.now();
    raw.once('close', () => {
      session.open--;
      session.streams -= stream;
      session.lastSeen = Date.now();
    });
  }

  /** A POST of one request, answered by the session's own transport (see ./session-transport.ts). */
  #post(session: Session, message: JSONRPCRequest, headers: IncomingHttpHeaders, url: string, raw: ServerResponse, origin: CallOrigin): void {
    const { transport } = session;
    this.#noteLogLevel(session, message);
    const controls = transport.open(message, headers, raw);
    const params = directToolCall(message);
    withCallOrigin({ ...origin, webRequest: () => webRequest(headers, url, 'POST', message) }, () => {
      if (!params) return transport.dispatch(message, controls);
      const { cancel, done } = serveSessionCall(this.#callTool, session, message, params, controls);
      session.calls.set(message.id, cancel);
      void done.then(() => session.calls.get(message.id) === cancel && session.calls.delete(message.id), (error: unknown) => this.#settings.onError(error as Error));
    });
  }

  /** Keep the log level a client sets, for the calls served without the server, which reads its own. */
  #noteLogLevel(session: Session, body: unknown): void {
    for (const message of Array.isArray(body) ? body : [body]) {
      const { method, params } = (message ?? {}) as { method?: unknown; params?: { level?: unknown } };
      if (method === 'logging/setLevel' && typeof params?.level === 'string' && LOG_LEVELS.includes(params.level)) session.logLevel = params.level;
    }
  }

  /**
   * The SDK sends nothing for a request the client cancelled (notifications/cancelled), so that
   * request's SSE stream, and the client's connection under it, stayed open until the session
   * ended, and kept the session from ever being idle. An error answer closes the stream and frees
   * the request's entries in the transport; a client ignores answers to requests it cancelled.
   */
  #answerCancelled(session: Session, body: unknown): void {
    for (const message of Array.isArray(body) ? body : [body]) {
      const { method, params } = (message ?? {}) as { method?: unknown; params?: { requestId?: unknown } };
      const id = params?.requestId;
      if (method !== 'notifications/cancelled' || (typeof id !== 'string' && typeof id !== 'number')) continue;
      session.calls.get(id)?.((params as { reason?: unknown }).reason);
      const error = { code: -32000, message: 'Request cancelled by the client.', data: { code: ErrorCodes.ABORTED } };
      // Rejected when the request is not in flight here (answered already, or never seen): nothing to close then.
      session.transport.send({ jsonrpc: '2.0', id, error }).catch(() => {});
    }
  }

  #discard(session: Session): Promise<void> {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    return session.server.close().catch((error: unknown) => this.#settings.onError(error as Error));
  }

  /**
   * Make room for one more session: free the longest idle one, else the one that has held only
   * GET streams for longest (its streams end; its client comes back with its id, which rebuilds
   * it), so that clients holding streams cannot grow memory past the limit. A session with a
   * request running is never freed: those are bounded by the requests in flight.
   */
  #makeRoom(): void {
    let oldest: Session | undefined;
    for (const session of this.#sessions.values()) if (session.open === 0 && (!oldest || session.lastSeen < oldest.lastSeen)) oldest = session;
    if (!oldest) for (const session of this.#sessions.values()) if (session.open === session.streams && (!oldest || session.lastSeen < oldest.lastSeen)) oldest = session;
    if (oldest) void this.#discard(oldest);
  }
}
