/**
 * Endpoint calls answered beside Fastify rather than through it: a plain `POST /<endpoint>` with a
 * JSON body of a declared length, to a public endpoint of a service that is Available and whose
 * Fastify app nobody customised (no `configureApp`, no CORS). Such a call needs none of Fastify's
 * routing, hooks or request and reply objects, which were most of what taskmesh cost beyond a bare
 * Fastify echo (bench/RESULTS.md); it gets the same answer, built by the same code: the same JSON
 * parser, the endpoint's checks (endpoint.ts), error replies, headers and log line (tests hold the
 * two paths equal).
 *
 * Anything else (another method or path, a query string, another content type, a chunked body, a
 * body over the limit, an admin endpoint, a service starting or stopping) goes to Fastify as it
 * came, untouched: the choice is made from the request line and headers alone, before any of the
 * body is read.
 *
 * Other modules add routes of their own (`addDirectRoute`: the MCP endpoint's stateless calls, a
 * gateway's forwarding).
 * A route whose choice depends on the body reads it first, and hands what it does not serve to
 * Fastify with the body it read, which the Fastify route then replays (`replayReadBody`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER, ServerStatus } from '../protocol.ts';
import { invokeEndpointThen, type Endpoint, type RequestContext } from './endpoint.ts';
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

/** What a direct route is given besides the request: the service's settings, and the way back to Fastify. */
export interface DirectPath {
  readonly bodyLimit: number;
  /** Error replies carry their stack (development mode). */
  readonly development: boolean;
  readonly parseJson: JsonParser;
  readonly lines: RequestLines | undefined;
  /**
   * Hand a request whose body the route has read to Fastify, which serves it as if it had come
   * there first; its route must replay the body (`replayReadBody`).
   */
  toFastify(req: IncomingMessage, res: ServerResponse, body: Buffer): void;
}

/**
 * A route on the direct path (an MCP endpoint, say): false to leave the request to Fastify,
 * unread; true once it has taken the request, to answer it or hand it on with `toFastify`.
 */
export type DirectRoute = (req: IncomingMessage, res: ServerResponse, path: DirectPath) => boolean;

interface Installed {
  path: DirectPath;
  routes: DirectRoute[];
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const readBody = Symbol('taskmesh.readBody');
type ReadRequest = IncomingMessage & { [readBody]?: Buffer };

const installed = new WeakMap<Server, Installed>();

/**
 * Put the direct path in front of the server's request listener (the one Fastify made), for the
 * calls it can answer; the rest reach Fastify as they came.
 */
export function answerDirectCalls(server: Server, host: DirectCallsHost): void {
  const [fastify, ...others] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  // Not the one listener Fastify adds: something else listens too, so leave every request to it.
  if (!fastify || others.length > 0) return;
  const endpoints = directCalls(host);
  const path: DirectPath = {
    bodyLimit: host.bodyLimit,
    development: host.development,
    parseJson: host.parseJson,
    lines: host.lines,
    toFastify(req: ReadRequest, res, body) {
      req[readBody] = body;
      fastify.call(server, req, res);
    },
  };
  const routes: DirectRoute[] = [];
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (endpoints(req, res)) return;
    for (const route of routes) if (route(req, res, path)) return;
    fastify.call(server, req, res);
  });
  installed.set(server, { path, routes });
}

/** Add a route to a server's direct path; false when the server has none (its app is customised). */
export function addDirectRoute(server: Server, route: DirectRoute): boolean {
  const direct = installed.get(server);
  direct?.routes.push(route);
  return direct !== undefined;
}

/**
 * The configureApp methods that keep an app on the direct path: Service's own, which adds nothing,
 * and taskmesh's own overrides that add nothing the direct path would skip, or add direct routes
 * of their own (the Gateway's). A user's override (a subclass's) never is one: its hooks must see
 * every call.
 */
const directPathSafe = new WeakSet<object>();

/** Mark a framework class's configureApp as one that keeps the direct path. */
export function markDirectPathSafe(configureApp: object): void {
  directPathSafe.add(configureApp);
}

/** Whether an app configured by `configureApp` keeps the direct path. */
export function isDirectPathSafe(configureApp: object): boolean {
  return directPathSafe.has(configureApp);
}

/** Whether a server answers plain endpoint calls directly (for tests and diagnostics). */
export function answersDirectly(server: Server): boolean {
  return installed.has(server);
}

/**
 * A preParsing hook for a route that direct routes hand requests to: Fastify reads the body the
 * direct route already read, instead of the request's stream, which has ended.
 */
export function replayReadBody(request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (error: Error | null, payload: Readable) => void): void {
  const body = (request.raw as ReadRequest)[readBody];
  done(null, body === undefined ? payload : Readable.from([body], { objectMode: false }));
}

/** A plain JSON POST of a declared length within the body limit: the only bodies the direct path reads. */
export function isPlainJsonPost(req: IncomingMessage, bodyLimit: number): boolean {
  if (req.method !== 'POST') return false;
  const { headers } = req;
  const length = headers['content-length'];
  if (length === undefined || headers['transfer-encoding'] !== undefined || Number(length) > bodyLimit) return false;
  return JSON_TYPE.test(headers['content-type'] ?? '');
}

/**
 * The request's body, in one piece, once it has all come. A caller that goes away mid-body has no
 * one left to answer: `left` is told, if given, and `done` never is.
 */
export function readWholeBody(req: IncomingMessage, done: (body: Buffer) => void, left?: () => void): void {
  const chunks: Buffer[] = [];
  let ended = false;
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('error', () => {});
  req.on('end', () => {
    ended = true;
    done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  });
  if (left)
    req.once('close', () => {
      if (!ended) left();
    });
}

/** A JSON reply as Fastify's `reply.send(object)` and the service's onSend hook make it. */
export function writeJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), [REQUEST_ID_HEADER]: requestId });
  res.end(payload);
}

/**
 * An error answered as the Fastify path's error handler and onSend hook answer it: the error reply,
 * and for a 5xx the error's log line. Returns the status, for the request line.
 */
export function writeError(res: ServerResponse, error: unknown, requestId: string, development: boolean, log: RequestLogger | undefined): number {
  const { status, body } = toErrorReply(error, requestId, development);
  if (status >= 500) log?.error({ err: error }, `request failed: ${body.message}`);
  writeJson(res, status, body, requestId);
  return status;
}

/** A request's id and its logger (undefined when the service logs nothing), as Fastify's would be. */
export function requestLogger(path: Pick<DirectPath, 'lines'>, req: IncomingMessage): { requestId: string; log: RequestLogger | undefined } {
  const requestId = requestIdOf(req);
  return { requestId, log: path.lines ? new RequestLogger(path.lines, requestId) : undefined };
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
    if (!endpoint || !isPlainJsonPost(req, host.bodyLimit)) return false;
    if (!endpoint.builtin && host.status() !== ServerStatus.Available) return false;
    answer(host, endpoint, req, res);
    return true;
  };
}

function answer(host: DirectCallsHost, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void {
  const { requestId, log } = requestLogger(host, req);
  const send = (status: number, body: unknown): void => {
    writeJson(res, status, body, requestId);
    log?.completed('POST', req.url!, status);
  };
  const fail = (error: unknown): void => {
    const status = writeError(res, error, requestId, host.development, log);
    log?.completed('POST', req.url!, status);
  };
  const call = (input: unknown): void =>
    invokeEndpointThen(endpoint, input, new HttpRequestContext(requestId, log ?? silentLog, res), (output) => send(200, output ?? null), fail);
  // Buffers decoded once at the end: a string decoder per request costs more than the usual one-chunk body.
  readWholeBody(req, (buffer) => {
    const body = buffer.toString('utf8');
    // An empty body is no body, as on the Fastify path: fine for a task without input.
    if (body === '') return call(undefined);
    host.parseJson(undefined as never, body, (error, value) => (error ? fail(error) : call(value)));
  });
}

/** The handler's logger of a service that logs nothing. */
export const silentLog: RequestContext['log'] = { info() {}, warn() {}, error() {} };
