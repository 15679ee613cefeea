/**
 * The Fastify app of a service: one route per endpoint, the request-id and logging hooks, the
 * error replies of the wire protocol, OpenAPI and the docs page.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FastifyCorsOptions } from '@fastify/cors';
import { ConfigError, ErrorCodes, TaskmeshError, type ErrorBody, type Issue } from '../errors.ts';
import { REQUEST_ID_HEADER, type ServerStatus } from '../protocol.ts';
import { adminGuard, type AdminPolicy } from './admin.ts';
import { invokeEndpoint, type Endpoint, type RequestContext } from './endpoint.ts';
import { registerDocsPage } from './docs-page.ts';
import { requestIdOf } from './request-id.ts';
import { RequestLines, RequestLogger, ServiceLogController, serviceLogger, type LoggerOption } from './logging.ts';
import { openApiDocument, type OpenApiInfo } from './openapi.ts';

export interface HttpAppOptions {
  bodyLimit: number;
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

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function errorBody(status: number, code: string, message: string, requestId: string, issues?: Issue[]): ErrorBody {
  return {
    error: reasonPhrases[status] ?? 'Error',
    code,
    message,
    request_id: requestId,
    ...(issues ? { issues } : {}),
  };
}

/** Map anything thrown while serving a request to its status and wire body. */
function toErrorReply(error: unknown, requestId: string, development: boolean): { status: number; body: ErrorBody } {
  if (error instanceof TaskmeshError) {
    const status = error.status ?? 500;
    const body = errorBody(status, error.code, error.message, requestId, error.issues);
    if (development && status >= 500 && error.stack) body.stack = error.stack;
    return { status, body };
  }
  const fastifyError = error as FastifyError;
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 422,
        body: errorBody(422, ErrorCodes.INVALID_INPUT, 'The request body is not valid JSON.', requestId, [
          { path: [], message: `Malformed JSON: ${fastifyError.message}` },
        ]),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: errorBody(413, ErrorCodes.BODY_TOO_LARGE, 'The request body is larger than this service accepts; raise the service\'s bodyLimit option or send less.', requestId),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: errorBody(415, ErrorCodes.INVALID_INPUT, 'Send the body as JSON with Content-Type: application/json.', requestId),
      };
  }
  if (fastifyError?.statusCode && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: errorBody(fastifyError.statusCode, ErrorCodes.CALL_FAILED, fastifyError.message, requestId) };
  }
  const message = error instanceof Error ? error.message : String(error);
  const body = errorBody(500, ErrorCodes.HANDLER_FAILED, message || 'The handler failed.', requestId);
  if (development && error instanceof Error && error.stack) body.stack = error.stack;
  return { status: 500, body };
}

/**
 * The context a handler gets. A class, not an object literal with a getter: V8 keeps what such a
 * literal's getter closes over alive through young-generation GCs, so every request and reply was
 * promoted to the old generation (about 2 KB a request, and GC pauses of 10-25 µs a request under
 * load, found by the benchmark; see bench/RESULTS.md). As a class: under 100 bytes a request.
 */
class HttpRequestContext implements RequestContext {
  readonly requestId: string;
  readonly log: RequestContext['log'];
  readonly #reply: FastifyReply;
  #controller: AbortController | undefined;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    this.requestId = request.id;
    this.log = request.log;
    this.#reply = reply;
  }

  // Made on first use: most handlers never look at it, and an AbortController per request is not free.
  get signal(): AbortSignal {
    if (!this.#controller) {
      const made = new AbortController();
      this.#controller = made;
      const raw = this.#reply.raw;
      // The response closes either after it is sent or when the caller hangs up first.
      raw.once('close', () => {
        if (!raw.writableFinished) made.abort(new Error('The caller went away before the reply.'));
      });
    }
    return this.#controller.signal;
  }
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
      const result = invokeEndpoint(endpoint, raw, new HttpRequestContext(request, reply));
      // Fastify reads undefined as "the handler will reply itself": an endpoint with no output answers null.
      return result instanceof Promise ? result.then(nullForUndefined) : nullForUndefined(result);
    },
  });
}

function nullForUndefined(value: unknown): unknown {
  return value === undefined ? null : value;
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
