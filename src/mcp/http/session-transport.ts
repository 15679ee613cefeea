/**
 * The transport of one 2025-era session. The SDK's web-standard transport turns every exchange
 * into a web Request and reads its answer back from a web Response stream, which cost more than
 * the call itself under load (bench/RESULTS.md, the session row). The message a session carries
 * most, a POST of one JSON-RPC request, is answered here on the Node response instead, with the
 * SDK transport's own answer: an SSE stream that opens with a priming event (an event id and a
 * retry interval, for clients of 2025-11-25 and later), then every message related to the request,
 * each stored for resumption, then the response. A client whose stream broke resumes it with
 * Last-Event-ID, while the request runs as after it.
 *
 * So are a POST of one notification or of the client's answer to a request of the server (202),
 * and DELETE. Everything else (initialize, GET streams, batches, anything malformed or with
 * headers the SDK transport refuses) goes through the SDK transport, which this one wraps. The
 * session's server is connected to this transport, so each message it sends goes to whichever of
 * the two holds the request the message belongs to.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, WebStandardStreamableHTTPServerTransport, isJsonContentType } from '@modelcontextprotocol/server';
import type { EventStore, JSONRPCMessage, JSONRPCRequest, RequestId, Transport, TransportSendOptions } from '@modelcontextprotocol/server';

/** The SDK transport's defaults, kept alike on both paths. */
const KEEP_ALIVE_MS = 15_000;
const RETRY_MS = 1000;
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/** The SDK transport's id for a session's GET stream, as its events are stored. */
const STANDALONE_STREAM_ID = '_GET_stream';

/** The SDK transport's answer to a second client of one stream. */
export function writeStreamConflict(res: ServerResponse): void {
  res.writeHead(409, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Conflict: Stream already has an active connection' }, id: null }));
}

/**
 * What became of a resumption that reached another worker: the stream goes on there ('attached'),
 * its stored events were all there was ('replayed'), the session's GET stream missed those events
 * ('standalone': the client's worker opens a new one after them), another client holds it, or the
 * event is not known here.
 */
export type ResumedElsewhere = { outcome: 'attached'; detach: () => void } | { outcome: 'replayed' | 'standalone' | 'conflict' | 'unknown' };

interface StoredEvent {
  id: string;
  stream: string;
  message: JSONRPCMessage;
}

/** The SSE events of one session, both transports', kept so that a client whose stream broke can resume it. */
class SessionEventStore implements EventStore {
  readonly #events: StoredEvent[] = [];
  readonly #prefix: string;
  #next = 0;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  add(stream: string, message: JSONRPCMessage): string {
    const id = `${this.#prefix}${++this.#next}`;
    this.#events.push({ id, stream, message });
    if (this.#events.length > 256) this.#events.shift();
    return id;
  }

  streamOf(id: string): string | undefined {
    return this.#events.find((e) => e.id === id)?.stream;
  }

  /** The events of `lastId`'s stream stored after it. */
  after(lastId: string): StoredEvent[] {
    const index = this.#events.findIndex((e) => e.id === lastId);
    const stream = this.#events[index]?.stream;
    return this.#events.slice(index + 1).filter((e) => e.stream === stream);
  }

  async storeEvent(stream: string, message: JSONRPCMessage): Promise<string> {
    return this.add(stream, message);
  }

  async getStreamIdForEventId(id: string): Promise<string | undefined> {
    return this.streamOf(id);
  }

  async replayEventsAfter(lastId: string, { send }: { send: (id: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    for (const event of this.after(lastId)) await send(event.id, event.message);
    return this.streamOf(lastId) ?? '';
  }
}

function sseEvent(message: JSONRPCMessage | Record<string, never>, id: string): string {
  return `event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`;
}

/** Where a request's stream goes: a client's response here, or one held by another worker (./stream-relay.ts). */
export interface StreamOutput {
  /** Events to send; with none, the stream is only opened, so that its client sees it is. */
  write(events: string): void;
  /** The last events, and the end of the stream. */
  end(events: string): void;
}

/** A stream's output on a Node response: the head goes out with the first write. */
export function responseOutput(res: ServerResponse, head: Record<string, string>): StreamOutput {
  const open = (): void => {
    if (!res.headersSent) res.writeHead(200, head);
  };
  return {
    write(events) {
      open();
      if (events !== '') res.write(events);
      else res.flushHeaders();
    },
    end(events) {
      open();
      res.end(events);
    },
  };
}

/**
 * One request's SSE stream, on its client's response or, once resumed, wherever the client
 * resumed it. What is written before the next turn of the event loop goes out in one write, so a
 * quick answer costs one syscall with its priming event.
 */
class RequestStream {
  readonly streamId = randomUUID();
  done = false;
  #out: StreamOutput | undefined;
  #pending = '';
  #opened = false;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(res: ServerResponse, head: Record<string, string>) {
    this.#attach(responseOutput(res, head), '', res);
    setImmediate(() => this.#flush());
  }

  get attached(): boolean {
    return this.#out !== undefined;
  }

  write(event: string): void {
    if (!this.#out) return;
    if (this.#opened) this.#out.write(event);
    else this.#pending += event;
  }

  /** The response: the last event, and the end of the stream. */
  end(event: string): void {
    this.done = true;
    const out = this.#out;
    if (!out) return;
    const pending = this.#pending;
    this.detach(out);
    out.end(pending + event);
  }

  /** End the stream without the response (closeSSE): the client resumes it with Last-Event-ID. */
  close(): void {
    const out = this.#out;
    if (!out) return;
    this.#flush();
    this.detach(out);
    out.end('');
  }

  /**
   * A client resumed the stream: go on on `out`, after the events it missed. `res`, the client's
   * response when it is one here, detaches the stream when it closes.
   */
  resume(out: StreamOutput, missed: string, res?: ServerResponse): void {
    this.#attach(out, missed, res);
    this.#flush();
  }

  detach(out: StreamOutput): void {
    if (this.#out !== out) return;
    this.#out = undefined;
    this.#pending = '';
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  #attach(out: StreamOutput, missed: string, res: ServerResponse | undefined): void {
    this.#out = out;
    this.#pending = missed;
    this.#opened = false;
    res?.once('close', () => this.detach(out));
  }

  #flush(): void {
    const out = this.#out;
    if (!out) return;
    this.#opened = true;
    out.write(this.#pending);
    this.#pending = '';
    if (!this.done && !this.#keepAlive) {
      this.#keepAlive = setInterval(() => this.#out?.write(': keepalive\n\n'), KEEP_ALIVE_MS);
      this.#keepAlive.unref();
    }
  }
}

/** What a request's handler may do to the streams: end its own early (for the client to resume it), or the GET stream. */
export interface RequestControls {
  closeSSEStream?: () => void;
  closeStandaloneSSEStream?: () => void;
}

export interface SessionTransportOptions {
  sessionId: string;
  /** Before every event id: in a cluster, the worker's, so that any worker knows which one holds an event (./stream-relay.ts). */
  eventIdPrefix?: string;
  onsessioninitialized: () => void;
  onsessionclosed: () => void;
}

export class SessionTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly #inner: WebStandardStreamableHTTPServerTransport;
  readonly #events: SessionEventStore;
  /** Requests answered here, by JSON-RPC id, until their response is sent. */
  readonly #requests = new Map<RequestId, RequestStream>();
  #versions: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;
  #closed = false;
  readonly #onsessionclosed: () => void;

  constructor(options: SessionTransportOptions) {
    this.#onsessionclosed = options.onsessionclosed;
    this.#events = new SessionEventStore(options.eventIdPrefix ?? '');
    this.#inner = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => options.sessionId,
      eventStore: this.#events,
      retryInterval: RETRY_MS,
      onsessioninitialized: options.onsessioninitialized,
      onsessionclosed: options.onsessionclosed,
    });
    this.#inner.onmessage = (message, extra) => this.onmessage?.(message, extra);
    this.#inner.onerror = (error) => this.onerror?.(error);
    this.#inner.onclose = () => {
      this.#closed = true;
      for (const stream of this.#requests.values()) stream.close();
      this.#requests.clear();
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  setSupportedProtocolVersions(versions: string[]): void {
    this.#versions = versions;
    this.#inner.setSupportedProtocolVersions(versions);
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Serve a web Request through the SDK transport: what this one leaves to it. */
  handleRequest(request: Request, options?: { parsedBody?: unknown }): Promise<Response> {
    return this.#inner.handleRequest(request, options);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const isResponse = 'id' in message && ('result' in message || 'error' in message);
    const id = isResponse ? (message as { id: RequestId }).id : options?.relatedRequestId;
    const stream = id === undefined ? undefined : this.#requests.get(id);
    if (!stream) return this.#inner.send(message, options);
    const event = sseEvent(message, this.#events.add(stream.streamId, message));
    if (!isResponse) return stream.write(event);
    this.#requests.delete(id!);
    stream.end(event);
  }

  /**
   * Whether a POST of one JSON-RPC request with these headers is answered here: the headers the
   * SDK transport would refuse get its refusal from it, and a closed session its 404.
   */
  takes(headers: IncomingHttpHeaders): boolean {
    const accept = headers.accept ?? '';
    return this.ends(headers) && accept.includes('application/json') && accept.includes('text/event-stream') && isJsonContentType(headers['content-type'] ?? null);
  }

  /**
   * Open the stream of a request that `takes` took on `res`, as the SDK transport would; the
   * caller then serves it (`dispatch`, or a handler of its own that answers through `send`).
   */
  open(message: JSONRPCRequest, headers: IncomingHttpHeaders, res: ServerResponse): RequestControls {
    const stream = new RequestStream(res, this.sseHead);
    this.#requests.set(message.id, stream);
    const version = (headers['mcp-protocol-version'] as string | undefined) ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
    // The SDK transport offers resumption to clients that understand an empty priming event.
    if (!this.#versions.includes(version) || version < '2025-11-25') return {};
    stream.write(`id: ${this.#events.add(stream.streamId, {} as JSONRPCMessage)}\nretry: ${RETRY_MS}\ndata: \n\n`);
    return { closeSSEStream: () => stream.close(), closeStandaloneSSEStream: () => this.#inner.closeStandaloneSSEStream() };
  }

  /** Hand an opened request to the session's server. */
  dispatch(message: JSONRPCRequest, controls: RequestControls): void {
    this.onmessage?.(message, controls);
  }

  /** A notification or a response with headers `takes` took: handed to the server, and 202, as from the SDK transport. */
  accept(message: JSONRPCMessage, res: ServerResponse): void {
    this.onmessage?.(message, {});
    res.writeHead(202);
    res.end();
  }

  /** Whether a DELETE with these headers is answered here: not in a closed session, nor with a protocol version the SDK transport refuses. */
  ends(headers: IncomingHttpHeaders): boolean {
    const version = headers['mcp-protocol-version'];
    return !this.#closed && (version === undefined || (typeof version === 'string' && this.#versions.includes(version)));
  }

  /** DELETE: the session ends, and then its 200 goes out, as from the SDK transport. */
  async end(res: ServerResponse): Promise<void> {
    this.#onsessionclosed();
    await this.close();
    res.writeHead(200);
    res.end();
  }

  /**
   * A GET with Last-Event-ID for a stream of a request still answered here: replay what the client
   * missed and go on on `res`. False when the stream is not one of those (the SDK transport then
   * serves the GET: the standalone stream, or a finished request's stored events).
   */
  resume(lastEventId: string, res: ServerResponse): boolean {
    const stream = this.#requestStream(this.#events.streamOf(lastEventId));
    if (!stream) return false;
    if (stream.attached) writeStreamConflict(res);
    else stream.resume(responseOutput(res, this.sseHead), this.#missed(lastEventId), res);
    return true;
  }

  /**
   * A resumption that reached another worker (./stream-relay.ts): a request's stream goes on on
   * `out`; a finished one's events, or what the standalone GET stream missed, are written and end.
   */
  resumeElsewhere(lastEventId: string, out: StreamOutput): ResumedElsewhere {
    const streamId = this.#events.streamOf(lastEventId);
    if (streamId === undefined) return { outcome: 'unknown' };
    const stream = this.#requestStream(streamId);
    if (stream?.attached) return { outcome: 'conflict' };
    if (stream) {
      stream.resume(out, this.#missed(lastEventId));
      return { outcome: 'attached', detach: () => stream.detach(out) };
    }
    out.end(this.#missed(lastEventId));
    return { outcome: streamId === STANDALONE_STREAM_ID ? 'standalone' : 'replayed' };
  }

  /** The stream of a request still answered here, by its id. */
  #requestStream(streamId: string | undefined): RequestStream | undefined {
    return streamId === undefined ? undefined : [...this.#requests.values()].find((candidate) => candidate.streamId === streamId);
  }

  #missed(lastEventId: string): string {
    return this.#events.after(lastEventId).map((e) => sseEvent(e.message, e.id)).join('');
  }

  /** The head of the session's SSE responses. */
  get sseHead(): Record<string, string> {
    return { ...SSE_HEADERS, 'mcp-session-id': this.sessionId! };
  }
}
