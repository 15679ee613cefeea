/**
 * Request ids: the caller's `X-Request-ID` when it is short and plain (so that it cannot forge log
 * lines), else a new one. New ids have a UUID's shape (version 4, RFC 9562 variant): 74 random bits
 * drawn once per process, then a counter. Unique within a process by the counter and across
 * processes by the random part, in order within one process (handy when reading a log), and a
 * fraction of randomUUID()'s cost, which was a measurable share of a small request's.
 */
import { randomBytes } from 'node:crypto';
import { REQUEST_ID_HEADER } from '../protocol.ts';

const REQUEST_ID_PATTERN = /^[\w.:@/+=-]{1,128}$/;
const COUNTER_LIMIT = 16 ** 12;

let prefix = '';
let counter = COUNTER_LIMIT;

function freshPrefix(): string {
  const hex = randomBytes(10).toString('hex');
  const variant = ((parseInt(hex[15]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(12, 15)}-${variant}${hex.slice(16, 19)}-`;
}

/** A new request id. */
export function newRequestId(): string {
  // Past 16^12 ids (or at the first), a new random part: the counter never wraps onto old ids.
  if (counter >= COUNTER_LIMIT) {
    prefix = freshPrefix();
    counter = 0;
  }
  const count = (counter++).toString(16);
  return `${prefix}${'0'.repeat(12 - count.length)}${count}`;
}

/** Fastify's genReqId for a service. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : newRequestId();
}
