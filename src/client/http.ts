/**
 * Outgoing HTTP for clients: one undici keep-alive pool per origin, shared by every client of that
 * origin and closed when the last of them closes; failures mapped to taskmesh's coded errors.
 */
import type { Dispatcher, Pool } from 'undici';
import { undici } from '../lazy.ts';
import { CallTimeoutError, ErrorCodes, ServiceCallError, ServiceUnreachableError, TaskmeshError, type ErrorBody } from '../errors.ts';
import { REQUEST_ID_HEADER } from '../protocol.ts';
import type { HttpMethod } from '../task.ts';

interface PoolEntry {
  pool: Pool;
  users: number;
}

const pools = new Map<string, PoolEntry>();

/** A keep-alive pool of up to `connections` to `origin`, one request at a time on each. */
export function keepAlivePool(origin: string, connections: number): Pool {
  return new (undici().Pool)(origin, { connections, pipelining: 1, keepAliveTimeout: 10_000 });
}

export function acquirePool(origin: string): Pool {
  let entry = pools.get(origin);
  if (!entry) {
    entry = { pool: keepAlivePool(origin, 256), users: 0 };
    pools.set(origin, entry);
  }
  entry.users += 1;
  return entry.pool;
}

export async function releasePool(origin: string): Promise<void> {
  const entry = pools.get(origin);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users <= 0) {
    pools.delete(origin);
    await entry.pool.close().catch(() => {});
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

export interface HttpCall {
  /** The shared pool of the origin, or a client of its own for a probe that must not reuse a socket. */
  pool: Dispatcher;
  /** The base URL, for error messages and its path prefix. */
  baseUrl: string;
  basePath: string;
  method: HttpMethod;
  /** Endpoint path without leading slash (with its query string, for a GET). */
  path: string;
  body?: unknown;
  timeout: number;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
}

export interface HttpResult {
  status: number;
  requestId: string | undefined;
  body: unknown;
}

/** Send one JSON request. Resolves for 2xx; throws a TaskmeshError for everything else. */
export async function sendJson(call: HttpCall): Promise<HttpResult> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  let payload: string | undefined;
  if (call.body !== undefined) {
    payload = JSON.stringify(call.body);
    headers['content-type'] = 'application/json';
  }
  let response;
  try {
    response = await call.pool.request({
      method: call.method,
      path: `${call.basePath}/${call.path}`,
      headers,
      body: payload ?? null,
      // undici's own timers are far cheaper per call than an AbortSignal.timeout each time.
      headersTimeout: call.timeout,
      bodyTimeout: call.timeout,
      signal: call.signal ?? null,
    });
  } catch (error) {
    throw mapTransportError(error, call);
  }
  const requestId = headerValue(response.headers[REQUEST_ID_HEADER]);
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw mapTransportError(error, call);
  }
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      if (response.statusCode < 400) {
        throw new TaskmeshError(ErrorCodes.INVALID_OUTPUT, `${call.path} at ${call.baseUrl} replied with a body that is not JSON.`, {
          status: response.statusCode,
          ...(requestId ? { requestId } : {}),
        });
      }
      body = { error: 'Error', code: ErrorCodes.CALL_FAILED, message: text.slice(0, 500) };
    }
  }
  if (response.statusCode >= 400) {
    throw new ServiceCallError(call.path, response.statusCode, asErrorBody(body), requestId);
  }
  return { status: response.statusCode, requestId, body };
}

function asErrorBody(body: unknown): ErrorBody | undefined {
  if (body && typeof body === 'object' && 'message' in body) return body as ErrorBody;
  if (body && typeof body === 'object' && 'detail' in body) {
    // FastAPI's shape, from a service of the reference framework.
    const detail = (body as { detail: unknown }).detail;
    return { error: 'Error', code: ErrorCodes.CALL_FAILED, message: typeof detail === 'string' ? detail : JSON.stringify(detail) };
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function mapTransportError(error: unknown, call: HttpCall): Error {
  const code = (error as { code?: string })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new CallTimeoutError(call.path, call.baseUrl, call.timeout);
  }
  if (call.signal?.aborted) {
    const reason = call.signal.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return new CallTimeoutError(call.path, call.baseUrl, call.timeout);
    return new TaskmeshError(ErrorCodes.ABORTED, `${call.path} at ${call.baseUrl} was aborted by the caller.`, { cause: reason });
  }
  if (code && UNREACHABLE_CODES.has(code)) return new ServiceUnreachableError(call.baseUrl, error);
  if (error instanceof TaskmeshError) return error;
  return new ServiceUnreachableError(call.baseUrl, error);
}
