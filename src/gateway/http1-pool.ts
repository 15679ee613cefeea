/**
 * The gateway's client for forwarding calls to an http: app: kept-alive HTTP/1.1 connections, one
 * request at a time on each (no pipelining), a request's head and body written in one go, the
 * reply read by ./http1-reply.ts and handed to the same handler shape as undici's `dispatch`.
 *
 * Why not undici, which the gateway still uses for streamed uploads and https apps: forwarding a
 * call is the gateway's whole hot path, and undici's general machinery (its request object and
 * header checks, the pool's dispatch loop, the WebAssembly parser's callbacks, parsing every reply
 * header into an object that the gateway then copies) was 22% of the gateway's CPU per forwarded
 * call (perf); this client's part is about 11%. Measured with the gateway and its app on one core:
 * 16% less CPU per forwarded call, gateway and app together (bench/RESULTS.md, the gateway rows).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { ReplyParser, type FeedResult, type ReplyHead } from './http1-reply.ts';

/** What the gateway sends: headers as Node parsed them from the caller (latin1, as written back), already valid on the wire. */
export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
  /** Milliseconds for the reply's head to come, and at most between two pieces of its body. */
  headersTimeout: number;
  bodyTimeout: number;
}

export interface ExchangeControl {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** The subset of undici's DispatchHandler the gateway uses, so that one handler serves both clients. */
export interface ReplyHandler {
  onRequestStart(control: ExchangeControl, context: unknown): void;
  onResponseStart(control: ExchangeControl, status: number, headers: IncomingHttpHeaders): void;
  onResponseData(control: ExchangeControl, chunk: Buffer): void;
  onResponseEnd(control: ExchangeControl, trailers: IncomingHttpHeaders): void;
  onResponseError(control: ExchangeControl, error: Error): void;
}

/** The reply did not come (or stopped coming) in time. */
export class ReplyTimeoutError extends Error {
  readonly code = 'REPLY_TIMEOUT';
}

/** The app closed the connection before its reply was whole (or before any reply). */
export class ConnectionClosedError extends Error {
  readonly code = 'UPSTREAM_CLOSED';
}

/** How long an idle connection is kept, unless the app's Keep-Alive says it keeps them shorter. */
const IDLE_MS = 10_000;
/** Let go of an idle connection this long before the app would, so that a request never meets its close. */
const IDLE_MARGIN_MS = 1_000;
const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

interface Exchange {
  request: UpstreamRequest;
  handler: ReplyHandler;
}

class Connection implements ExchangeControl {
  readonly #pool: Http1Pool;
  readonly #socket: Socket;
  readonly #parser: ReplyParser;
  #exchange: Exchange | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timeoutMs = 0;
  #started = false;
  #keepAlive = true;
  #idleMs = IDLE_MS;

  constructor(pool: Http1Pool, host: string, port: number) {
    this.#pool = pool;
    this.#parser = new ReplyParser({ head: (head) => this.#onHead(head), data: (chunk) => this.#exchange?.handler.onResponseData(this, chunk) });
    this.#socket = connect({ host, port, noDelay: true });
    // Node's socket timeout restarts at every read and write: it fires once the connection has been quiet this long.
    this.#socket.setTimeout(this.#idleMs);
    this.#socket.on('timeout', () => {
      if (!this.#exchange) this.close();
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('end', () => {
      if (this.#exchange && this.#parser.finish()) this.#complete();
      this.close();
    });
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new ConnectionClosedError('The app closed the connection before its reply was complete.')));
  }

  /** Whether an idle connection can still carry a request. */
  get usable(): boolean {
    return !this.#socket.destroyed && !this.#socket.readableEnded;
  }

  send(exchange: Exchange): void {
    const { request, handler } = exchange;
    this.#exchange = exchange;
    this.#started = false;
    this.#parser.expect(request.method);
    this.#arm(request.headersTimeout);
    handler.onRequestStart(this, undefined);
    if (this.#exchange !== exchange) return;
    const socket = this.#socket;
    const head = requestHead(request, this.#pool.hostHeader);
    if (request.body === null) socket.write(head, 'latin1');
    else {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(request.body);
      socket.uncork();
    }
  }

  abort(reason: Error): void {
    this.#fail(reason);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** Destroy the socket and leave the pool at once (its 'close' event comes a turn later). */
  close(): void {
    this.#socket.destroy();
    this.#pool.remove(this);
  }

  /** One timer per connection, re-armed per exchange and per piece of the body. */
  #arm(ms: number): void {
    if (this.#timer && this.#timeoutMs === ms) this.#timer.refresh();
    else {
      clearTimeout(this.#timer);
      this.#timeoutMs = ms;
      this.#timer = setTimeout(() => this.#onTimer(), ms).unref();
    }
  }

  #onTimer(): void {
    if (!this.#exchange) return;
    const what = this.#started ? 'more of its reply body' : 'its reply';
    this.#fail(new ReplyTimeoutError(`The app did not send ${what} within ${this.#timeoutMs} ms.`));
  }

  #onHead(head: ReplyHead): void {
    const exchange = this.#exchange!;
    this.#started = true;
    this.#keepAlive = head.keepAlive;
    if (head.keepAliveHint !== undefined) {
      const idle = Math.min(IDLE_MS, head.keepAliveHint * 1000 - IDLE_MARGIN_MS);
      if (idle !== this.#idleMs) {
        this.#idleMs = idle;
        if (idle <= 0) this.#keepAlive = false;
        else this.#socket.setTimeout(idle);
      }
    }
    this.#arm(exchange.request.bodyTimeout);
    exchange.handler.onResponseStart(this, head.status, head.headers);
  }

  #onData(chunk: Buffer): void {
    let result: FeedResult;
    try {
      result = this.#parser.feed(chunk);
    } catch (error) {
      // A BadReplyError, or a throw from the handler the reader called (a header Node refuses to write, say).
      this.#fail(error as Error);
      return;
    }
    // Bytes with no request to answer, or after the reply's end: the connection cannot be trusted.
    if (!this.#exchange) this.close();
    else if (result === 'more') this.#arm(this.#exchange.request.bodyTimeout);
    else {
      if (result === 'extra') this.#keepAlive = false;
      this.#complete();
    }
  }

  #complete(): void {
    const exchange = this.#exchange!;
    this.#exchange = undefined;
    if (this.#socket.isPaused()) this.#socket.resume();
    if (this.#keepAlive && this.usable) this.#pool.release(this);
    else this.close();
    exchange.handler.onResponseEnd(this, NO_TRAILERS);
  }

  /** The exchange is given up (an error, a timeout, an abort): the connection with it. */
  #fail(error: Error): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.#parser.stop();
    this.close();
    exchange?.handler.onResponseError(this, error);
  }
}

/** The request line and headers; Content-Length the gateway's own, from the body it sends. */
function requestHead(request: UpstreamRequest, host: string): string {
  // Connection said outright, as undici does: an HTTP/1.0 hop between would otherwise close it.
  let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n`;
  const { headers } = request;
  for (const key in headers) {
    if (key === 'content-length') continue;
    const value = headers[key]!;
    if (typeof value === 'string') head += `${key}: ${value}\r\n`;
    else for (const each of value) head += `${key}: ${each}\r\n`;
  }
  if (request.body !== null) head += `content-length: ${request.body.length}\r\n`;
  else if (BODY_METHODS.has(request.method)) head += 'content-length: 0\r\n';
  return `${head}\r\n`;
}

/** Connections to one http: origin, at most `connections` at once; more requests wait their turn, in order. */
export class Http1Pool {
  readonly hostHeader: string;
  readonly #host: string;
  readonly #port: number;
  readonly #limit: number;
  readonly #all = new Set<Connection>();
  /** Idle connections, the most recently used last: taken first, it is the least likely to be closing. */
  readonly #idle: Connection[] = [];
  readonly #waiting: Exchange[] = [];
  #closed: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(origin: URL, connections: number) {
    if (origin.protocol !== 'http:') throw new TypeError(`Http1Pool speaks plain http only, not ${origin.protocol}`);
    this.hostHeader = origin.host;
    // URL keeps an IPv6 host in brackets; net.connect wants it bare.
    this.#host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    this.#port = Number(origin.port || 80);
    this.#limit = connections;
  }

  /** Counts with undici's PoolStats' names: connections open, idle ones, requests on the wire. */
  get stats(): { connected: number; free: number; running: number } {
    return { connected: this.#all.size, free: this.#idle.length, running: this.#all.size - this.#idle.length };
  }

  dispatch(request: UpstreamRequest, handler: ReplyHandler): void {
    const exchange = { request, handler };
    if (this.#closing) {
      handler.onResponseError(noControl, new ConnectionClosedError('The gateway is closing its connections to this app.'));
      return;
    }
    let connection = this.#idle.pop();
    while (connection && !connection.usable) connection = this.#idle.pop();
    if (connection) connection.send(exchange);
    else if (this.#all.size < this.#limit) this.#open().send(exchange);
    else this.#waiting.push(exchange);
  }

  /** Let the requests already given finish, waiting ones too, then close every connection. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#closed = resolve;
      for (const connection of this.#idle.splice(0)) connection.close();
      this.#settle();
    });
    return this.#closing;
  }

  /** Called by a connection whose exchange ended and that can carry another. */
  release(connection: Connection): void {
    const next = this.#waiting.shift();
    if (next) connection.send(next);
    else if (this.#closing) connection.close();
    else this.#idle.push(connection);
  }

  /** Called by a connection once its socket has closed. */
  remove(connection: Connection): void {
    if (!this.#all.delete(connection)) return;
    const idle = this.#idle.indexOf(connection);
    if (idle >= 0) this.#idle.splice(idle, 1);
    const next = this.#waiting.shift();
    if (next) this.#open().send(next);
    this.#settle();
  }

  #open(): Connection {
    const connection = new Connection(this, this.#host, this.#port);
    this.#all.add(connection);
    return connection;
  }

  #settle(): void {
    if (this.#closed && this.#all.size === 0 && this.#waiting.length === 0) this.#closed();
  }
}

/** For a request refused before it had a connection. */
const noControl: ExchangeControl = { abort() {}, pause() {}, resume() {} };
