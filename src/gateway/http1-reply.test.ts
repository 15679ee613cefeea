import { describe, expect, it } from 'vitest';
import { BadReplyError, MAX_HEAD_BYTES, ReplyParser, type FeedResult, type ReplyHead } from './http1-reply.ts';

interface Read {
  heads: ReplyHead[];
  body: string;
  result: FeedResult;
  parser: ReplyParser;
}

/** Feed `pieces` to a parser expecting the reply to a `method` request. */
function read(pieces: string[], method = 'GET'): Read {
  const heads: ReplyHead[] = [];
  let body = '';
  const parser = new ReplyParser({ head: (head) => heads.push(head), data: (chunk) => (body += chunk.toString('latin1')) });
  parser.expect(method);
  let result: FeedResult = 'more';
  for (const piece of pieces) result = parser.feed(Buffer.from(piece, 'latin1'));
  return { heads, body, result, parser };
}

/** Every way of cutting `reply` in two, and byte by byte: each must read as the reply whole does. */
function everySplit(reply: string): string[][] {
  const splits = [[reply], [...reply]];
  for (let at = 1; at < reply.length; at++) splits.push([reply.slice(0, at), reply.slice(at)]);
  return splits;
}

const LENGTH_REPLY = 'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello world';
const CHUNKED_REPLY = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';

describe('reading an app reply', () => {
  it('reads a reply of declared length, its headers lower-cased and repeats kept in order, however the bytes are cut', () => {
    for (const pieces of everySplit(LENGTH_REPLY)) {
      const { heads, body, result } = read(pieces);
      expect(heads).toHaveLength(1);
      expect(heads[0]).toMatchObject({ status: 201, keepAlive: true, keepAliveHint: undefined });
      expect({ ...heads[0]!.headers }).toEqual({ 'content-type': 'text/plain', 'content-length': '11', 'set-cookie': ['a=1', 'b=2'] });
      expect(body).toBe('hello world');
      expect(result).toBe('ended');
    }
  });

  it('unframes a chunked body, with extensions and trailers, however the bytes are cut', () => {
    for (const pieces of everySplit(CHUNKED_REPLY)) {
      const { heads, body, result } = read(pieces);
      expect(heads.map((h) => h.status)).toEqual([200]);
      expect(body).toBe('hello 0123456789');
      expect(result).toBe('ended');
    }
  });

  it('reads past informational replies to the final one', () => {
    const { heads, body } = read(['HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']);
    expect(heads.map((h) => h.status)).toEqual([200]);
    expect(body).toBe('ok');
  });

  it('takes no body after a HEAD request, a 204 or a 304, whatever the headers say', () => {
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'], 'HEAD')).toMatchObject({ body: '', result: 'ended' });
    expect(read(['HTTP/1.1 204 No Content\r\n\r\n'])).toMatchObject({ body: '', result: 'ended' });
    expect(read(['HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'])).toMatchObject({ body: '', result: 'ended' });
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'])).toMatchObject({ body: '', result: 'ended' });
  });

  it('reads a reply without a length to the close, and the connection is not kept', () => {
    for (const reply of ['HTTP/1.1 200 OK\r\n\r\nall of it', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nall of it']) {
      const { heads, body, result, parser } = read([reply, ' and more']);
      expect(heads[0]!.keepAlive).toBe(false);
      expect(body).toBe('all of it and more');
      expect(result).toBe('more');
      expect(parser.finish()).toBe(true);
    }
    // A reply with a length that the close cuts short is not complete.
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab']).parser.finish()).toBe(false);
  });

  it('keeps the connection as the version and the Connection header say, and reads the Keep-Alive timeout', () => {
    const keepAlive = (reply: string) => read([`${reply}Content-Length: 0\r\n\r\n`]).heads[0]!.keepAlive;
    expect(keepAlive('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: Close\r\n')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\n')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n')).toBe(true);
    expect(read(['HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n']).heads[0]!.keepAliveHint).toBe(5);
  });

  it('gives a header named __proto__ as a header, not a prototype', () => {
    const { heads } = read(['HTTP/1.1 200 OK\r\n__proto__: x\r\nContent-Length: 0\r\n\r\n']);
    expect(heads[0]!.headers['__proto__' as 'age']).toBe('x');
    expect(heads[0]!.headers instanceof Object).toBe(false);
  });

  it('says when bytes follow the end of the reply, and ignores what comes once it is stopped', () => {
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n']).result).toBe('extra');
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'x']).result).toBe('extra');
    const { parser } = read(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab']);
    parser.stop();
    expect(parser.ended).toBe(true);
  });

  it.each([
    ['a status line that is not HTTP/1.x', 'HTTP/2 200 OK\r\n\r\n', 'status line'],
    ['a status that is not three digits', 'HTTP/1.1 20 OK\r\n\r\n', 'status line'],
    ['both Transfer-Encoding and Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 'both Transfer-Encoding and Content-Length'],
    ['two different lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'not one length'],
    ['a length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n', 'not one length'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n', 'no valid name'],
    ['a header without a name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', 'no valid name'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n', 'no valid name'],
    ['a bare LF in the head', 'HTTP/1.1 200 OK\nX-A: 1\r\n\r\n', 'control character'],
    ['a NUL in a header', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n', 'control character'],
    ['a control character Node would not write back', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n', 'control character'],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'not a hex size'],
    ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n', 'longer than its size'],
    ['a chunk-size line ending in a bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab', 'does not end in CRLF'],
    ['101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 'not asked for'],
  ])('refuses %s', (_what, reply, reason) => {
    for (const pieces of [[reply], [...reply]]) {
      expect(() => read(pieces)).toThrow(BadReplyError);
      expect(() => read(pieces)).toThrow(reason);
    }
  });

  it(`refuses a head longer than ${MAX_HEAD_BYTES} bytes, with or without its end yet`, () => {
    const long = `HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n`;
    expect(() => read([long])).toThrow(`longer than ${MAX_HEAD_BYTES} bytes`);
    expect(() => read([long, '\r\n'])).toThrow(`longer than ${MAX_HEAD_BYTES} bytes`);
  });
});
