/**
 * Reading an app's HTTP/1.1 replies off a kept-alive connection, for the gateway's own client
 * (./http1-pool.ts): the head (status line and headers), then the body framed as RFC 9112 section 6
 * says (Content-Length, chunked, or until the connection closes), handed on as it arrives and
 * unframed. A reply that could be read two ways (Transfer-Encoding with Content-Length, two
 * lengths) or that breaks the grammar is refused, so that one connection never carries the tail
 * of one reply into the next.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Node's own default limit on a message head (--max-http-header-size). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line (with any extensions), or one trailer line. */
const MAX_LINE_BYTES = 4 * 1024;

/** The reply broke HTTP/1.1's grammar or framing; `reason` says how. */
export class BadReplyError extends Error {
  readonly code = 'BAD_REPLY';
  readonly reason: string;
  constructor(reason: string) {
    super(`The reply is not valid HTTP/1.1: ${reason}.`);
    this.reason = reason;
  }
}

export interface ReplyHead {
  status: number;
  headers: IncomingHttpHeaders;
  /** The connection may carry another request once this reply has ended. */
  keepAlive: boolean;
  /** Seconds the app keeps an idle connection open, from its Keep-Alive header. */
  keepAliveHint: number | undefined;
}

export interface ReplyEvents {
  /** The final head (1xx heads are read past). */
  head(head: ReplyHead): void;
  /** A piece of the body, without its chunked framing. */
  data(chunk: Buffer): void;
}

/** What the bytes fed so far came to. `extra`: bytes after the end, so the connection cannot be trusted again. */
export type FeedResult = 'more' | 'ended' | 'extra';

const State = { Head: 0, Length: 1, ChunkSize: 2, ChunkData: 3, ChunkEnd: 4, Trailers: 5, UntilClose: 6, Ended: 7 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Names are tokens (RFC 9110 5.1); values and the reason phrase hold tabs and visible characters
 * only (field-content, as Node checks a header it is given to write: one it would refuse must not
 * reach the caller's reply). A line that starts with whitespace (obsolete folding, a way to
 * smuggle) has no name.
 */
const STATUS_LINE = /^HTTP\/1\.[01] \d{3}(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const HEADER_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
/** A whole head that STATUS_LINE and HEADER_LINE would pass line by line: one pass for the usual case. */
const VALID_HEAD = /^HTTP\/1\.[01] \d{3}(?: [\t\x20-\x7e\x80-\xff]*)?(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*$/;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^\d{1,15}$/;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[\s,])timeout=(\d+)/i;

/**
 * Header maps without Object.prototype, so that a header called __proto__ is a header, yet in
 * V8's fast mode (Object.create(null) makes a dictionary, slower to fill and to walk).
 */
const HeaderMap = function HeaderMap() {} as unknown as new () => Record<string, string | string[]>;
HeaderMap.prototype = Object.create(null);

/** The items of a comma-separated header, repeated or not, trimmed and lower-cased. */
function listItems(value: string | string[]): string[] {
  return (Array.isArray(value) ? value.join(',') : value).split(',').map((item) => item.trim().toLowerCase());
}

function hasToken(value: string | string[] | undefined, token: string): boolean {
  return value !== undefined && listItems(value).includes(token);
}

/** The body's length from Content-Length, whose repeats must agree. */
function contentLength(value: string | string[]): number {
  const parts = listItems(value);
  if (!parts.every((p) => DIGITS.test(p) && p === parts[0])) throw new BadReplyError(`Content-Length ${JSON.stringify(String(value))} is not one length`);
  return Number(parts[0]);
}

/** Why a head that VALID_HEAD refused is refused. */
function invalidHead(lines: string[]): BadReplyError {
  if (lines.some((line) => CONTROL.test(line))) return new BadReplyError('a control character (a NUL, or a CR or LF outside a line end) in the head');
  if (!STATUS_LINE.test(lines[0]!)) return new BadReplyError(`the status line ${JSON.stringify(lines[0]!.slice(0, 100))} is not "HTTP/1.x NNN reason"`);
  const bad = lines.find((line, i) => i > 0 && !HEADER_LINE.test(line)) ?? '';
  return new BadReplyError(`the header line ${JSON.stringify(bad.slice(0, 100))} has no valid name`);
}

function parseHead(text: string): { status: number; minor: string; headers: IncomingHttpHeaders } {
  const lines = text.split('\r\n');
  if (!VALID_HEAD.test(text)) throw invalidHead(lines);
  const headers = new HeaderMap();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = headers[key];
    headers[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  const status = lines[0]!;
  return { status: Number(status.slice(9, 12)), minor: status[7]!, headers: headers as IncomingHttpHeaders };
}

/**
 * One connection's reply reader; `expect` readies it for the next reply. Feeding stops at the end
 * of a reply: `feed` then says whether bytes came after it.
 */
export class ReplyParser {
  #state: State = State.Ended;
  #noBody = false;
  /** Head or line bytes that arrived split across reads. */
  #pending: Buffer | undefined;
  #remaining = 0;
  #trailerBytes = 0;
  #events: ReplyEvents;

  constructor(events: ReplyEvents) {
    this.#events = events;
  }

  /** Ready for the reply to a request; a HEAD request's reply has no body whatever its headers say. */
  expect(method: string): void {
    this.#state = State.Head;
    this.#noBody = method === 'HEAD';
    this.#pending = undefined;
  }

  /** Stop reading (the exchange was given up); later bytes are ignored. */
  stop(): void {
    this.#state = State.Ended;
    this.#pending = undefined;
  }

  get ended(): boolean {
    return this.#state === State.Ended;
  }

  /** The connection has ended: the reply that reads to the close is complete; any other is cut short. */
  finish(): boolean {
    if (this.#state !== State.UntilClose) return false;
    this.#state = State.Ended;
    return true;
  }

  /** Throws BadReplyError. */
  feed(chunk: Buffer): FeedResult {
    let at = 0;
    while (at < chunk.length) {
      switch (this.#state) {
        case State.Ended:
          return 'extra';
        case State.Head:
          at = this.#readHead(chunk, at);
          break;
        case State.Length:
        case State.ChunkData:
          at = this.#readBody(chunk, at);
          break;
        case State.UntilClose:
          this.#events.data(at === 0 ? chunk : chunk.subarray(at));
          at = chunk.length;
          break;
        case State.ChunkSize:
        case State.Trailers:
          at = this.#readLine(chunk, at);
          break;
        case State.ChunkEnd: {
          // The CRLF after a chunk's data, which may arrive split.
          const expected = this.#remaining === 2 ? 13 : 10;
          if (chunk[at] !== expected) throw new BadReplyError('a chunk is longer than its size says');
          at += 1;
          if (--this.#remaining === 0) this.#state = State.ChunkSize;
          break;
        }
      }
      // A handler may have given the exchange up meanwhile.
      if (this.ended) return at < chunk.length ? 'extra' : 'ended';
    }
    return this.ended ? 'ended' : 'more';
  }

  /** Up to the rest of the declared length, or of the chunk. */
  #readBody(chunk: Buffer, at: number): number {
    const end = at + Math.min(this.#remaining, chunk.length - at);
    this.#remaining -= end - at;
    if (this.#remaining === 0) {
      if (this.#state === State.Length) this.#state = State.Ended;
      else {
        this.#state = State.ChunkEnd;
        this.#remaining = 2;
      }
    }
    this.#events.data(chunk.subarray(at, end));
    return end;
  }

  #readHead(chunk: Buffer, at: number): number {
    const pending = this.#pending;
    const data = pending ? Buffer.concat([pending, chunk.subarray(at)]) : at === 0 ? chunk : chunk.subarray(at);
    // Search from just before where the new bytes begin: the blank line may straddle two reads.
    const end = data.indexOf('\r\n\r\n', pending ? Math.max(0, pending.length - 3) : 0, 'latin1');
    if (end < 0) {
      if (data.length > MAX_HEAD_BYTES) throw new BadReplyError(`its head is longer than ${MAX_HEAD_BYTES} bytes`);
      this.#pending = data;
      return chunk.length;
    }
    if (end > MAX_HEAD_BYTES) throw new BadReplyError(`its head is longer than ${MAX_HEAD_BYTES} bytes`);
    this.#pending = undefined;
    const consumed = end + 4 - (pending?.length ?? 0);
    this.#startBody(parseHead(data.toString('latin1', 0, end)));
    return at + consumed;
  }

  #startBody({ status, minor, headers }: ReturnType<typeof parseHead>): void {
    if (status < 200) {
      // Informational (103 Early Hints and the like): the real reply follows. The gateway never asks to switch protocols.
      if (status === 101) throw new BadReplyError('101 Switching Protocols was not asked for');
      return;
    }
    const connection = headers.connection;
    let keepAlive = minor === '1' ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    const encoding = headers['transfer-encoding'];
    const length = headers['content-length'];
    if (this.#noBody || status === 204 || status === 304) this.#state = State.Ended;
    else if (encoding !== undefined) {
      if (length !== undefined) throw new BadReplyError('it has both Transfer-Encoding and Content-Length');
      if (listItems(encoding).at(-1) === 'chunked') this.#state = State.ChunkSize;
      else {
        this.#state = State.UntilClose;
        keepAlive = false;
      }
    } else if (length !== undefined) {
      this.#remaining = contentLength(length);
      this.#state = this.#remaining === 0 ? State.Ended : State.Length;
    } else {
      this.#state = State.UntilClose;
      keepAlive = false;
    }
    this.#trailerBytes = 0;
    const hint = headers['keep-alive'];
    const seconds = hint === undefined ? undefined : KEEP_ALIVE_TIMEOUT.exec(String(hint))?.[1];
    this.#events.head({ status, headers, keepAlive, keepAliveHint: seconds === undefined ? undefined : Number(seconds) });
  }

  /** A chunk-size line or a trailer line, which may arrive split. */
  #readLine(chunk: Buffer, at: number): number {
    const newline = chunk.indexOf(10, at);
    const piece = chunk.subarray(at, newline < 0 ? chunk.length : newline + 1);
    const line = this.#pending ? Buffer.concat([this.#pending, piece]) : piece;
    if (line.length > MAX_LINE_BYTES) throw new BadReplyError(`a chunk-size or trailer line is longer than ${MAX_LINE_BYTES} bytes`);
    if (newline < 0) {
      this.#pending = line;
      return chunk.length;
    }
    this.#pending = undefined;
    if (line.length < 2 || line[line.length - 2] !== 13) throw new BadReplyError('a chunk-size or trailer line does not end in CRLF');
    const text = line.toString('latin1', 0, line.length - 2);
    if (this.#state === State.ChunkSize) {
      const size = CHUNK_SIZE.exec(text);
      if (!size) throw new BadReplyError(`the chunk-size line ${JSON.stringify(text.slice(0, 100))} is not a hex size`);
      this.#remaining = Number.parseInt(size[1]!, 16);
      this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
    } else if (text === '') this.#state = State.Ended;
    else if ((this.#trailerBytes += line.length) > MAX_HEAD_BYTES) throw new BadReplyError(`its trailers are longer than ${MAX_HEAD_BYTES} bytes`);
    return newline + 1;
  }
}
