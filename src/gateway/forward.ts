/**
 * Forwarding `/{app}/{rest}` to the registered app's URL + `/{rest}`, for every method: query
 * string and headers (less hop-by-hop ones and Host) passed on, the reply's status and headers
 * passed back whatever its content type, and bodies streamed both ways (but for a small request
 * body, which is read whole first: see WHOLE_BODY_LIMIT).
 *
 * The routes live in their own Fastify plugin context so that the service's JSON body parser and
 * body limit do not apply: bodies are never parsed here. A gateway whose app nobody customised
 * also forwards beside Fastify (the service's direct path, src/service/direct-calls.ts): a request
 * for a registered app skips Fastify's routing and request objects, with the same relay, error
 * replies, headers and log line.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import {
  AppNotRegisteredError,
  ErrorCodes,
  ForwardingLoopError,
  RequestBodyTimeoutError,
  TaskmeshError,
  UpstreamBadReplyError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../errors.ts';
import { REQUEST_ID_HEADER } from '../protocol.ts';
import { addDirectRoute, readWholeBody, requestLogger, writeError, type DirectRoute } from '../service/direct-calls.ts';
import { takeOver } from '../service/take-over.ts';
import type { AppRegistry, UpstreamApp } from './registry.ts';
import { ReplyTimeoutError, type ExchangeControl, type ReplyHandler, type UpstreamRequest } from './http1-pool.ts';
import { BadReplyError } from './http1-reply.ts';
import type { StalledCallers } from './stalled-callers.ts';
import type { TrustsProxy } from './trusted-proxies.ts';
import { atTurnEnd } from './turn-end.ts';

export interface ForwardingOptions {
  registry: AppRegistry;
  /** Milliseconds to wait for the app's reply headers, and at most between two body chunks. */
  upstreamTimeout: number;
  /** Callers that stop sending their request body (408) or reading the reply are given up. */
  stalledCallers: StalledCallers;
  /** Callers whose Forwarded, X-Forwarded-* and X-Real-IP are passed on; from others they are replaced. */
  trustsProxy: TrustsProxy;
  /** The gateway's server id: its name in the Via header (RFC 9110 7.6.3), by which it knows a request it sent itself. */
  gatewayId: string;
}

/** Headers that describe one connection, not the message (RFC 9110 7.6.1), plus Host and Expect. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
  'expect',
]);

/** undici's (uploads, https apps); the gateway's own client throws ReplyTimeoutError. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const contentTypeKey = Symbol('taskmesh.forwardedContentType');
type ForwardedRequest = FastifyRequest & { [contentTypeKey]?: string };

/** One request to forward, through Fastify or beside it. */
interface Forwarding {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  /** Its Content-Type (the Fastify path hides it from Fastify until here). */
  contentType: string | undefined;
  /** Take the response over before its head is written: the log line when it ends (and, through Fastify, the headers set so far). */
  takeOver(): void;
  /** The caller went away, or the reply broke after it began: end the exchange with nothing more written. */
  abandon(): void;
}

/** Headers Connection names are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  // What nearly every request and reply says names no header: nothing to build a set for.
  if (!value || value === 'keep-alive' || value === 'close') return undefined;
  return new Set(value.split(',').map((t) => t.trim().toLowerCase()));
}

/** What a caller says of the client, believed from trusted proxies only (./trusted-proxies.ts). */
const CLIENT_IDENTITY = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip'];
const HOP_BY_HOP_AND_IDENTITY = new Set([...HOP_BY_HOP, ...CLIENT_IDENTITY]);

function forwardedRequestHeaders(forwarding: Forwarding, options: Forwarder): Record<string, string | string[]> {
  const { req } = forwarding;
  const source = req.headers;
  const listed = connectionTokens(source);
  // Always known: an app takes a request without X-Forwarded-For for one from the gateway's own
  // address, which may be loopback, whose callers it makes admins. A caller that reset its
  // connection right after its request has no address any more by now: "unknown".
  const client = req.socket.remoteAddress ?? 'unknown';
  const fromProxy = options.trustsProxy(client);
  const dropped = fromProxy ? HOP_BY_HOP : HOP_BY_HOP_AND_IDENTITY;
  const headers: Record<string, string | string[]> = {};
  for (const key in source) {
    const value = source[key];
    if (value === undefined || dropped.has(key) || listed?.has(key)) continue;
    headers[key] = value;
  }
  if (forwarding.contentType !== undefined) headers['content-type'] = forwarding.contentType;
  const prior = fromProxy ? source['x-forwarded-for'] : undefined;
  headers['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  if (source.host && !headers['x-forwarded-host']) headers['x-forwarded-host'] = source.host;
  headers['x-forwarded-proto'] ??= 'encrypted' in req.socket ? 'https' : 'http';
  headers.via = source.via ? `${source.via}, ${options.via}` : options.via;
  headers[REQUEST_ID_HEADER] = forwarding.requestId;
  return headers;
}

/**
 * A request body that says its length, and is no longer than this, is read whole before the app
 * is called, as nginx buffers request bodies: undici then writes head and body in one go, without
 * a stream between the two sockets (14-18% less CPU per forwarded call, gateway and app together:
 * bench/RESULTS.md, the gateway rows), and a caller who leaves mid-body never reaches the app.
 * Longer or chunked bodies stream as they arrive, so no request holds more than this in memory.
 */
export const WHOLE_BODY_LIMIT = 64 * 1024;

type RequestBody = 'none' | 'whole' | 'stream';

function requestBody(headers: IncomingHttpHeaders, method: string): RequestBody {
  if (method === 'GET' || method === 'HEAD') return 'none';
  if (headers['transfer-encoding'] !== undefined) return 'stream';
  const length = headers['content-length'];
  if (length === undefined || length === '0') return 'none';
  return Number(length) <= WHOLE_BODY_LIMIT ? 'whole' : 'stream';
}

function replyHeaders(upstream: IncomingHttpHeaders, requestId: string): Record<string, string | string[]> {
  const listed = connectionTokens(upstream);
  const headers: Record<string, string | string[]> = {};
  for (const key in upstream) {
    const value = upstream[key];
    if (value === undefined || HOP_BY_HOP.has(key) || listed?.has(key)) continue;
    headers[key] = value;
  }
  // The gateway's request id wins; it is the one the app received too.
  headers[REQUEST_ID_HEADER] = requestId;
  return headers;
}

/**
 * What could take a forwarded path out of the app's prefix once the app (or a server in front of
 * it) resolves it: a "." or ".." segment, however encoded, and whether slashes or backslashes
 * (which some servers read as slashes), plain or encoded, delimit it. A leading // would name a
 * host to a URL parser.
 */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)|^\/\//i;
const SLASH_LIKE = /%2f|%5c|\\/gi;

/** The path to send the app for `/{app}/{rest}`: its prefix + `/{rest}`, the query untouched. */
function upstreamPath(name: string, target: UpstreamApp, rawUrl: string): string {
  // Not origin-form (`GET http://host/app/x`): the gateway is no forward proxy.
  const rest = rawUrl[0] === '/' ? rawUrl.slice(rawUrl.indexOf('/', 1)) : '';
  const query = rest.indexOf('?');
  const path = query < 0 ? rest : rest.slice(0, query);
  if (!rest || DOT_SEGMENT.test(path.replace(SLASH_LIKE, '/'))) {
    throw new TaskmeshError(
      ErrorCodes.UNSAFE_PATH,
      `The gateway does not forward ${JSON.stringify(rawUrl.slice(0, 200))} to app "${name}": a "." or ".." segment (encoded, or after a backslash or an encoded slash), or a leading //, could reach outside the app. Send the path resolved, as /${name}/<path>.`,
      { status: 400 },
    );
  }
  return target.basePath + rest;
}

/**
 * Send the request to the app and relay its reply. Resolves once the reply's status and headers
 * are written; rejects, with nothing written, when the app cannot be reached or sends no headers
 * in time, or the request body stops arriving, so that the gateway answers itself. The reply body
 * then flows chunk by chunk straight to the caller's socket, the app's socket pausing while the
 * caller's is full.
 */
function relay(target: UpstreamApp, path: string, forwarding: Forwarding, options: Forwarder): Promise<void> {
  const { req, res } = forwarding;
  const method = req.method ?? 'GET';
  const timeout = options.upstreamTimeout;
  return new Promise((resolve, reject) => {
    let upstream: ExchangeControl | undefined;
    let started = false;
    let callerGone = false;
    // The caller went away: stop the app's request too; there is no one left to answer.
    res.once('close', () => {
      if (res.writableFinished) return;
      callerGone = true;
      upstream?.abort(new Error('The caller closed the connection.'));
    });
    const body = requestBody(req.headers, method);
    const handler: ReplyHandler = {
      onRequestStart(controller) {
        upstream = controller;
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode < 200) return;
        started = true;
        forwarding.takeOver();
        res.writeHead(statusCode, replyHeaders(headers, forwarding.requestId));
        resolve();
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          options.stalledCallers.whenDrained(res, () => controller.resume(), forwarding.abandon);
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_controller, error) {
        if (started || callerGone) {
          forwarding.abandon();
          resolve();
        } else reject(error);
      },
    };
    // A streamed body goes over the upload pool (undici, which streams it); a whole one, or none, over the call pool (./registry.ts).
    const dispatch = (content: Buffer | null): void => {
      const request: UpstreamRequest = { method, path, headers: forwardedRequestHeaders(forwarding, options), body: content, headersTimeout: timeout, bodyTimeout: timeout };
      if (body === 'stream') target.uploadPool.dispatch({ ...request, method: method as Dispatcher.HttpMethod, body: req }, handler);
      else target.pool.dispatch(request, handler);
    };
    // With the rest of this turn's requests (./turn-end.ts), unless the caller has left meanwhile.
    const send = (content: Buffer | null): void =>
      atTurnEnd(() => {
        if (callerGone) {
          forwarding.abandon();
          resolve();
          return;
        }
        try {
          dispatch(content);
        } catch (error) {
          reject(error);
        }
      });
    if (body === 'none') {
      send(null);
      return;
    }
    const stopWatching = options.stalledCallers.watchBody(req, () => {
      const error = new RequestBodyTimeoutError(target.name, options.stalledCallers.timeout);
      upstream?.abort(error);
      if (started) {
        forwarding.abandon();
        resolve();
        return;
      }
      // The rest of the body may still come: the connection cannot carry another request.
      res.setHeader('connection', 'close');
      reject(error);
    });
    // A streamed body is the request itself, which dispatch hands undici.
    if (body === 'stream') send(null);
    else
      readWholeBody(
        req,
        (whole) => {
          stopWatching();
          send(whole);
        },
        () => {
          stopWatching();
          forwarding.abandon();
          resolve();
        },
      );
  });
}

/** Forward to `target`; an app that cannot be reached, or answers too late, rejects with the gateway's own error. */
async function forward(name: string, target: UpstreamApp, forwarding: Forwarding, options: Forwarder): Promise<void> {
  const path = upstreamPath(name, target, forwarding.req.url ?? '/');
  // An app whose URL leads back here (through a prefix, a proxy, another gateway): answered at
  // once, not forwarded round until every connection of the app's pool is taken.
  if (forwarding.req.headers.via?.includes(options.via)) throw new ForwardingLoopError(name, target.url);
  try {
    await relay(target, path, forwarding, options);
  } catch (error) {
    if (error instanceof TaskmeshError) throw error;
    if (error instanceof BadReplyError) throw new UpstreamBadReplyError(name, target.url, error.reason);
    const code = (error as { code?: string }).code;
    if (error instanceof ReplyTimeoutError || (code && TIMEOUT_CODES.has(code))) throw new UpstreamTimeoutError(name, target.url, options.upstreamTimeout);
    throw new UpstreamUnreachableError(name, target.url, error);
  }
}

/**
 * Forwarding beside Fastify: a request whose first path segment names a registered app. Anything
 * else (an unknown app, an encoded name, the gateway's own paths) goes to Fastify, unread.
 */
/**
 * The app a request is forwarded to beside Fastify: its path's first segment, when that names a
 * registered app as it stands (an encoded name is Fastify's to decode).
 */
export function directlyForwardedApp(url: string, registry: AppRegistry): { name: string; target: UpstreamApp } | undefined {
  const slash = url.indexOf('/', 1);
  if (url[0] !== '/' || slash < 0) return undefined;
  const name = url.slice(1, slash);
  const target = name.includes('%') ? undefined : registry.get(name);
  return target ? { name, target } : undefined;
}

function forwardDirectly(options: Forwarder): DirectRoute {
  const { registry } = options;
  return (req, res, path) => {
    const url = req.url ?? '';
    const app = directlyForwardedApp(url, registry);
    if (!app) return false;
    const { name, target } = app;
    const { requestId, log } = requestLogger(path, req);
    const method = req.method ?? 'GET';
    const forwarding: Forwarding = {
      req,
      res,
      requestId,
      contentType: req.headers['content-type'],
      // No setHeader for the request id: the reply's headers carry it (replyHeaders), and a header
      // set before writeHead sends it down Node's slower path that merges the two (3-5% of a
      // forwarded call's CPU, gateway and app together).
      takeOver() {
        if (log) res.once('finish', () => log.completed(method, url, res.statusCode));
      },
      abandon: () => res.destroy(),
    };
    forward(name, target, forwarding, options).catch((error: unknown) => {
      const status = writeError(res, error, requestId, path.development, log);
      log?.completed(method, url, status);
    });
    return true;
  };
}

/** The options, with the gateway's Via entry made once. */
type Forwarder = ForwardingOptions & { via: string };

export async function forwardingRoutes(app: FastifyInstance, given: ForwardingOptions): Promise<void> {
  const options: Forwarder = { ...given, via: `1.1 taskmesh-${given.gatewayId}` };
  const { registry } = options;

  // Fastify would refuse a malformed Content-Type with 415 and pick a parser for a good one. The
  // gateway passes any body through untouched, so it hides the header from Fastify until it forwards.
  app.addHook('onRequest', (request: ForwardedRequest, _reply, done) => {
    const contentType = request.raw.headers['content-type'];
    if (contentType !== undefined) {
      request[contentTypeKey] = contentType;
      delete request.raw.headers['content-type'];
    }
    done();
  });
  app.removeAllContentTypeParsers();
  // Leave the body unread: it is streamed to the app as it arrives.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.all('/:app/*', async (request: ForwardedRequest, reply: FastifyReply) => {
    const name = (request.params as { app: string }).app;
    const target = registry.get(name);
    if (!target) throw new AppNotRegisteredError(name, registry.names());
    await forward(name, target, {
      req: request.raw,
      res: reply.raw,
      requestId: request.id,
      contentType: request[contentTypeKey],
      takeOver: () => void takeOver(reply),
      abandon() {
        reply.hijack();
        reply.raw.destroy();
      },
    }, options);
  });
  addDirectRoute(app.server, forwardDirectly(options));
}
