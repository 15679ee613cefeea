/**
 * The Fastify app of a service: one route per endpoint, the request-id and logging hooks, the
 * error replies of the wire protocol, OpenAPI and the docs page.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FastifyCorsOptions } from '@fastify/cors';
import { ConfigError, ErrorCodes, TaskmeshError } from '../errors.ts';
import { REQUEST_ID_HEADER, type ServerStatus } from '../protocol.ts';
import { adminGuard, type AdminPolicy } from './admin.ts';
import { invokeEndpoint, type Endpoint } from './endpoint.ts';
import { answerDirectCalls } from './direct-calls.ts';
import { clientErrorReply, errorBody, toErrorReply } from './error-replies.ts';
import { HttpRequestContext } from './http-context.ts';
import { registerDocsPage } from './docs-page.ts';
import { requestIdOf } from './request-id.ts';
import { RequestLines, RequestLogger, ServiceLogController, serviceLogger, type LoggerOption } from './logging.ts';
import { openApiDocument, type OpenApiInfo } from './openapi.ts';

export interface HttpAppOptions {
  /** Answer plain endpoint calls beside Fastify (see direct-calls.ts): only for an app nobody customises. */
  directCalls: boolean;
  bodyLimit: number;
  /** ms a caller has to send a whole request, head and body; 0 for no limit (see ServiceOptions). */
  requestTimeout: number;
  cors: FastifyCorsOptions | false;
  development: boolean;
  logger: LoggerOption;
  docs: boolean;
}

export interface HttpAppHost {
  className: string;
  endpoints: () => Iterable<Endpoint>;
  status: () => ServerStatus;
  adminPolicy: AdminPolicy;
  openApiInfo: OpenApiInfo;
}

export async function buildHttpApp(host: HttpAppHost, options: HttpAppOptions): Promise<FastifyInstance> {
  const logger = serviceLogger(options.logger);
  const lines = logger ? new RequestLines(logger, options.logger) : undefined;
  // The logger is not given to Fastify: with one, Fastify adds response listeners and a pino child
  // to every request, a fifth of a small request's cost (bench/RESULTS.md). Fastify still asks the
  // child-logger factory for each request's `request.log` and `reply.log`: the service's
  // RequestLogger, which also logs the request's line.
  const app = Fastify({
    logger: false,
    logController: new ServiceLogController(),
    ...(lines ? { childLoggerFactory: (_parent: unknown, bindings: { reqId?: string }) => new RequestLogger(lines, bindings.reqId ?? '') } : {}),
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeout,
    // Node looks for overdue requests every 30 s by default, so a short limit could run that much late.
    ...(options.requestTimeout > 0
      ? { http: { headersTimeout: Math.min(60_000, options.requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(50, options.requestTimeout / 4)) } }
      : {}),
    clientErrorHandler: clientErrorReply(options.requestTimeout),
    genReqId: requestIdOf,
    forceCloseConnections: 'idle',
    // While closing, the status route answers Stopping and endpoints their own 503 (Service.#close sets
    // the status first); Fastify's bare 503 would not be in the wire protocol's shape.
    return503OnClosing: false,
  });
  if (logger) app.log = logger as FastifyBaseLogger;

  // An empty body is no body: fine for a task without input, a 422 with a clear issue for one with.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // Endpoints take JSON only: a text/plain body would otherwise reach the schema as a string.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });

  // One hook for every reply Fastify sends (a reply taken over from Fastify does both itself: see
  // ./take-over.ts): the request id header, and the request's line.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (lines) (request.log as RequestLogger).completed(request.method, request.url, reply.statusCode);
    done(null, payload);
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toErrorReply(error, request.id, options.development);
    if (status >= 500) request.log.error({ err: error }, `request failed: ${body.message}`);
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        errorBody(404, ErrorCodes.NOT_FOUND, `No endpoint at ${request.method} ${request.url.split('?')[0]}; GET /endpoints lists them.`, request.id),
      );
  });

  if (options.cors) {
    const { default: cors } = await import('@fastify/cors');
    await app.register(cors, options.cors);
  }

  for (const endpoint of host.endpoints()) registerEndpoint(app, host, endpoint);
  if (options.directCalls) {
    answerDirectCalls(app.server, { endpoints: host.endpoints(), status: host.status, bodyLimit: options.bodyLimit, development: options.development, parseJson, lines });
  }

  // Made on first request: the JSON Schemas of every endpoint are work a service's start need not do.
  let document: Record<string, unknown> | undefined;
  const openApi = () => (document ??= openApiDocument(host.endpoints(), host.openApiInfo));
  app.get('/openapi.json', { schema: { hide: true } }, async () => openApi());
  if (options.docs) registerDocsPage(app, openApi);
  return app;
}

function registerEndpoint(app: FastifyInstance, host: HttpAppHost, endpoint: Endpoint): void {
  const guard = endpoint.scope === 'admin' ? adminGuard(host.adminPolicy, endpoint.path) : undefined;
  app.route({
    method: endpoint.methods,
    url: `/${endpoint.path}`,
    ...(guard ? { preHandler: guard } : {}),
    // Not async: a handler that answers at once is answered without a promise of ours. Fastify
    // turns a throw here into the error reply, as it does a rejection.
    handler: (request: FastifyRequest, reply: FastifyReply) => {
      if (!endpoint.builtin && host.status() !== 'Available') {
        const status = host.status();
        throw new TaskmeshError(
          ErrorCodes.STOPPING,
          status === 'Launching' ? `${host.className} is still starting; retry shortly.` : `${host.className} is ${status} and takes no new calls.`,
          { status: 503 },
        );
      }
      const raw = request.method === 'GET' ? request.query : request.body;
      const result = invokeEndpoint(endpoint, raw, new HttpRequestContext(request.id, request.log, reply.raw));
      return result instanceof Promise ? result.then((value) => jsonPayload(reply, value)) : jsonPayload(reply, result);
    },
  });
}

/** What Fastify is to send for an endpoint's output: always JSON, as the direct path sends it. */
function jsonPayload(reply: FastifyReply, value: unknown): unknown {
  // Fastify reads undefined as "the handler will reply itself": an endpoint with no output answers null.
  if (value === undefined) return null;
  // Fastify sends a string as it is, as text/plain; a string output is JSON like any other.
  if (typeof value === 'string') {
    reply.type('application/json; charset=utf-8');
    return JSON.stringify(value);
  }
  return value;
}

/** A listen failure, as an error that says what to do. */
export function listenError(error: unknown, url: string): Error {
  const code = (error as { code?: string })?.code;
  if (code === 'EADDRINUSE') {
    return new TaskmeshError(
      ErrorCodes.PORT_IN_USE,
      `Cannot serve at ${url}: the port is already in use. Stop what runs there, or choose another port (port 0 picks a free one).`,
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
    return new ConfigError(`Cannot serve at ${url}: ${code} (${(error as Error).message}). Check the host, or use a port above 1023.`);
  }
  return error as Error;
}
