/**
 * 2025-era sessions: `initialize` opens one (an SDK server and a Streamable HTTP transport, with a
 * GET stream for notifications and resumable SSE); its id is signed and carries the handshake, so
 * a process that has not seen the session (another worker, or this one after the idle time-out
 * freed it) rebuilds it by replaying the handshake. Sessions idle longer than the time-out, with
 * no request or stream open, are freed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import type { EventStore, JSONRPCMessage, Server, ServerEvent } from '@modelcontextprotocol/server';
import { ErrorCodes } from '../../errors.ts';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import { notifyServer } from '../server.ts';
import { nodeAdapter } from './node-adapter.ts';
import { signSessionId, verifySessionId, type SessionClaims } from '../session-id.ts';
import { sendRpcError, writeWebResponse } from './replies.ts';
import { takeOver } from '../../service/take-over.ts';

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
  transport: WebStandardStreamableHTTPServerTransport;
  subscriptions: Set<string>;
  lastSeen: number;
  /** Requests and streams of the session still open: a session with any is never idle. */
  open: number;
  /** Of those, GET streams. */
  streams: number;
  until: number;
}

/** The SSE events of one session, kept so that a client whose stream broke can resume it (Last-Event-ID). */
class SessionEventStore implements EventStore {
  readonly #events: { id: string; stream: string; message: JSONRPCMessage }[] = [];
  #next = 0;

  async storeEvent(stream: string, message: JSONRPCMessage): Promise<string> {
    const id = `${++this.#next}`;
    this.#events.push({ id, stream, message });
    if (this.#events.length > 256) this.#events.shift();
    return id;
  }

  async getStreamIdForEventId(id: string): Promise<string | undefined> {
    return this.#events.find((e) => e.id === id)?.stream;
  }

  async replayEventsAfter(lastId: string, { send }: { send: (id: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const index = this.#events.findIndex((e) => e.id === lastId);
    const stream = this.#events[index]?.stream ?? '';
    for (const event of this.#events.slice(index + 1)) if (event.stream === stream) await send(event.id, event.message);
    return stream;
  }
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #rebuilding = new Map<string, Promise<Session | undefined>>();
  /** Ended sessions, until their ids would have expired anyway. */
  readonly #ended = new Map<string, number>();
  readonly #createServer: () => Server;
  readonly #settings: SessionSettings;
  readonly #timer: NodeJS.Timeout;

  constructor(createServer: () => Server, settings: SessionSettings) {
    this.#createServer = createServer;
    this.#settings = settings;
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
    await Promise.all([...this.#sessions.values()].map((s) => this.#discard(s)));
  }

  async #build(id: string, issuedAt: number): Promise<Session> {
    if (this.#sessions.size >= this.#settings.maxSessions) this.#evictOldestIdle();
    const server = this.#createServer();
    const session: Session = { id, server, transport: undefined as never, subscriptions: new Set(), lastSeen: Date.now(), open: 0, streams: 0, until: issuedAt + this.#settings.maxAgeMs };
    session.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore: new SessionEventStore(),
      retryInterval: 1000,
      onsessioninitialized: () => void this.#sessions.set(id, session),
      onsessionclosed: () => {
        this.#ended.set(id, session.until);
        this.#settings.publishClosed(id, session.until);
      },
    });
    server.onclose = () => {
      if (this.#sessions.get(id) === session) this.#sessions.delete(id);
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
    const stream = request.method === 'GET' ? 1 : 0;
    session.open++;
    session.streams += stream;
    session.lastSeen = Date.now();
    const raw = takeOver(reply);
    const gone = new AbortController();
    raw.once('close', () => {
      session.open--;
      session.streams -= stream;
      session.lastSeen = Date.now();
      if (!raw.writableFinished) gone.abort();
    });
    try {
      const { toWebRequest } = await nodeAdapter();
      const web = await toWebRequest(request.raw, request.body, { signal: gone.signal });
      const response = await withCallOrigin(origin, () => session.transport.handleRequest(web, { parsedBody: request.body }));
      if (request.method === 'POST') this.#answerCancelled(session, request.body);
      await writeWebResponse(raw, response);
    } catch (error) {
      this.#settings.onError(error as Error);
      if (!raw.headersSent) raw.writeHead(500, { 'content-type': 'application/json' });
      raw.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }));
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
      const error = { code: -32000, message: 'Request cancelled by the client.', data: { code: ErrorCodes.ABORTED } };
      // Rejected when the request is not in flight here (answered already, or never seen): nothing to close then.
      session.transport.send({ jsonrpc: '2.0', id, error }).catch(() => {});
    }
  }

  #discard(session: Session): Promise<void> {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    return session.server.close().catch((error: unknown) => this.#settings.onError(error as Error));
  }

  #evictOldestIdle(): void {
    let oldest: Session | undefined;
    for (const session of this.#sessions.values()) if (session.open === 0 && (!oldest || session.lastSeen < oldest.lastSeen)) oldest = session;
    if (oldest) void this.#discard(oldest);
  }
}
