/**
 * Endpoint calls answered beside Fastify rather than through it: a plain `POST /<endpoint>` with a
 * JSON body of a declared length, to a public endpoint of a service that is Available and whose
 * Fastify app nobody customised (no `configureApp`, no CORS). Such a call needs none of Fastify's
 * routing, hooks or request and reply objects, which were most of what taskmesh cost beyond a bare
 * Fastify echo (bench/RESULTS.md); it gets the same answer, built by the same code: the same JSON
 * parser, `invokeEndpoint`, error replies, headers and log line (tests hold the two paths equal).
 *
 * Anything else (another method or path, a query string, another content type, a chunked body, a
 * body over the limit, an admin endpoint, a service starting or stopping) goes to Fastify as it
 * came, untouched: the choice is made from the request line and headers alone, before any of the
 * body is read.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { REQUEST_ID_HEADER, ServerStatus } from '../protocol.ts';
import { invokeEndpoint, type Endpoint, type RequestContext } from './endpoint.ts';
import { toErrorReply } from './error-replies.ts';
import { HttpRequestContext } from './http-context.ts';
import { RequestLogger, type RequestLines } from './logging.ts';
import { requestIdOf } from './request-id.ts';

type JsonParser = (request: never, body: string, done: (error: Error | null, value?: unknown) => void) => void;

export interface DirectCallsHost {
  endpoints: Iterable<Endpoint>;
  status: () => ServerStatus;
  bodyLimit: number;
  development: boolean;
  parseJson: JsonParser;
  lines: RequestLines | undefined;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * Put the direct path in front of the server's request listener (the one Fastify made), for the
 * calls it can answer; the rest reach Fastify as they came.
 */
export function answerDirectCalls(server: Server, host: DirectCallsHost): void {
  const [fastify, ...others] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  // Not the one listener Fastify adds: something else listens too, so leave every request to it.
  if (!fastify || others.length > 0) return;
  const direct = directCalls(host);
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!direct(req, res)) fastify.call(server, req, res);
  });
  answering.add(server);
}

const answering = new WeakSet<Server>();

/** Whether a server answers plain endpoint calls directly (for tests and diagnostics). */
export function answersDirectly(server: Server): boolean {
  return answering.has(server);
}

/** A request listener for the calls it can answer itself; false (nothing read, nothing written) for the rest. */
export function directCalls(host: DirectCallsHost): (req: IncomingMessage, res: ServerResponse) => boolean {
  const byPath = new Map<string, Endpoint>();
  for (const endpoint of host.endpoints) {
    if (endpoint.scope === 'public' && endpoint.methods.includes('POST')) byPath.set(`/${endpoint.path}`, endpoint);
  }
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const endpoint = byPath.get(req.url ?? '');
    if (!endpoint) return false;
    const { headers } = req;
    const length = headers['content-length'];
    if (length === undefined || headers['transfer-encoding'] !== undefined || Number(length) > host.bodyLimit) return false;
    if (!JSON_TYPE.test(headers['content-type'] ?? '')) return false;
    if (!endpoint.builtin && host.status() !== ServerStatus.Available) return false;
    answer(host, endpoint, req, res);
    return true;
  };
}

function answer(host: DirectCallsHost, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void {
  const requestId = requestIdOf(req);
  const log = host.lines ? new RequestLogger(host.lines, requestId) : undefined;
  const send = (status: number, body: unknown): void => {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), [REQUEST_ID_HEADER]: requestId });
    res.end(payload);
    log?.completed('POST', req.url!, status);
  };
  const fail = (error: unknown): void => {
    const { status, body } = toErrorReply(error, requestId, host.development);
    // As the Fastify path's error handler does.
    if (status >= 500) log?.error({ err: error }, `request failed: ${body.message}`);
    send(status, body);
  };
  const call = (input: unknown): void => {
    try {
      const result = invokeEndpoint(endpoint, input, new HttpRequestContext(requestId, log ?? silent, res));
      // catch after then: a reply that cannot be serialised (a BigInt, say) fails like a handler.
      if (result instanceof Promise) result.then((value) => send(200, value ?? null)).catch(fail);
      else send(200, result ?? null);
    } catch (error) {
      fail(error);
    }
  };
  // Buffers decoded once at the end: a string decoder per request costs more than the usual one-chunk body.
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A caller that goes away mid-body has no one left to answer.
  req.on('error', () => {});
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    // An empty body is no body, as on the Fastify path: fine for a task without input.
    if (body === '') return call(undefined);
    host.parseJson(undefined as never, body, (error, value) => (error ? fail(error) : call(value)));
  });
}

const silent: RequestContext['log'] = { info() {}, warn() {}, error() {} };
