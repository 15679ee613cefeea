/**
 * 2025-era requests without a session (a client that skips `initialize`, or a load test): one
 * long-lived SDK server answers them all through a transport that multiplexes HTTP exchanges,
 * instead of a server and a transport built for every request. Each request gets a private
 * JSON-RPC id inside the server, so concurrent callers never collide; the reply is JSON, upgraded
 * to an SSE stream only when the handler sends progress or log notifications first.
 *
 * The plain `tools/call` (no progress token) goes straight to the same tool handler the server
 * uses, skipping the SDK's re-validation of a request and a result that the handler's own
 * checks already cover: it is the call that has to be cheap.
 *
 * Requests come through the Fastify route or, in an app nobody customised, beside it
 * (./direct-route.ts); an AnswerSink writes the answer either way, the same.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError, ProtocolErrorCode, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, JSONRPCRequest, Notification, RequestId, Server, ServerContext, Transport, TransportSendOptions } from '@modelcontextprotocol/server';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import { createMcpServer, handlersFor, type McpServerSpec } from '../server.ts';
import { directToolCall } from './legacy-request.ts';
import { sendRpcError, thrownRpcError } from './replies.ts';
import { writeJson } from '../../service/direct-calls.ts';
import type { RequestLogger } from '../../service/logging.ts';
import { takeOver, takeOverRaw } from '../../service/take-over.ts';
import { DirectRequest } from './direct-request.ts';

/** Where an exchange's answer goes: a Fastify reply, or a response answered beside Fastify. */
interface AnswerSink {
  readonly raw: ServerResponse;
  /** The JSON-RPC response, as the reply's JSON body. */
  json(body: unknown): void;
  /** The response, to stream SSE on (its status and headers not written yet). */
  stream(): ServerResponse;
  /** The caller went away before the answer: nothing is written. */
  abandon(): void;
}

class FastifySink implements AnswerSink {
  readonly #reply: FastifyReply;
  readonly #resolve: (body: unknown) => void;

  constructor(reply: FastifyReply, resolve: (body: unknown) => void) {
    this.#reply = reply;
    this.#resolve = resolve;
  }

  get raw(): ServerResponse {
    return this.#reply.raw;
  }

  json(body: unknown): void {
    this.#resolve(body);
  }

  stream(): ServerResponse {
    const raw = takeOver(this.#reply);
    this.#resolve(undefined);
    return raw;
  }

  abandon(): void {
    if (!this.#reply.sent) this.#reply.hijack();
    this.#resolve(undefined);
  }
}

/** The answer written as the Fastify path would write it: the same headers, body and log line. */
class DirectSink implements AnswerSink {
  readonly raw: ServerResponse;
  readonly #requestId: string;
  readonly #log: RequestLogger | undefined;
  readonly #url: string;

  constructor(raw: ServerResponse, requestId: string, log: RequestLogger | undefined, url: string) {
    this.raw = raw;
    this.#requestId = requestId;
    this.#log = log;
    this.#url = url;
  }

  json(body: unknown): void {
    writeJson(this.raw, 200, body, this.#requestId);
    this.#log?.completed('POST', this.#url, 200);
  }

  stream(): ServerResponse {
    return takeOverRaw(this.raw, this.#requestId, this.#log, 'POST', this.#url);
  }

  // As a hijacked Fastify reply: no line for a call nobody is left to answer.
  abandon(): void {}
}

class Exchange {
  readonly originalId: RequestId;
  readonly #sink: AnswerSink;
  #stream: ServerResponse | undefined;
  done = false;

  constructor(originalId: RequestId, sink: AnswerSink) {
    this.originalId = originalId;
    this.#sink = sink;
  }

  /** A notification about this request (progress, a log message): switch to SSE and pass it on. */
  notify(message: JSONRPCMessage): void {
    if (this.done) return;
    if (!this.#stream) {
      this.#stream = this.#sink.stream();
      this.#stream.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    }
    this.#stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  finish(response: JSONRPCMessage & { id: RequestId }): void {
    if (this.done) return;
    this.done = true;
    response.id = this.originalId;
    if (this.#stream) this.#stream.end(`event: message\ndata: ${JSON.stringify(response)}\n\n`);
    else this.#sink.json(response);
  }

  /** The caller went away before the answer. */
  abandon(): void {
    this.done = true;
    this.#sink.abandon();
  }
}

class MultiplexTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly #exchanges = new Map<number, Exchange>();
  #nextId = 0;

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.#exchanges.clear();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('method' in message) {
      // Related messages go on the exchange's stream; unrelated ones have no listener without a session.
      const related = options?.relatedRequestId;
      if (related !== undefined) this.#exchanges.get(related as number)?.notify(message);
      return;
    }
    if (!('id' in message) || typeof message.id !== 'number') return;
    const exchange = this.#exchanges.get(message.id);
    if (!exchange) return;
    this.#exchanges.delete(message.id);
    exchange.finish(message as JSONRPCMessage & { id: RequestId });
  }

  dispatch(message: JSONRPCRequest, exchange: Exchange): number {
    const id = ++this.#nextId;
    this.#exchanges.set(id, exchange);
    this.onmessage?.({ ...message, id });
    return id;
  }

  /** The caller went away: cancel the handler (its abort signal fires) and forget the exchange. */
  abandon(id: number): void {
    if (!this.#exchanges.delete(id)) return;
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'The client went away.' } });
  }
}

const NOT_ACCEPTABLE = 'Not Acceptable: Client must accept both application/json and text/event-stream';

/** The transport's refusals of a request's headers, as the SDK words them. */
function headerRefusal(headers: IncomingHttpHeaders): { status: number; message: string } | undefined {
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return { status: 406, message: NOT_ACCEPTABLE };
  const version = headers['mcp-protocol-version'];
  if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    return { status: 400, message: `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})` };
  }
  return undefined;
}
const GONE = 'The client went away.';

function noChannel(what: string): Promise<never> {
  return Promise.reject(
    new ProtocolError(ProtocolErrorCode.InvalidRequest, `Cannot ask the client for ${what}: the request came without a session. 2025-era clients ask back within a session (initialize first).`),
  );
}

/** What a tool handler sees of the SDK on the 2025-era direct path: the surface a stateless SDK server gives it. */
class StatelessRequest extends DirectRequest {
  readonly method: string;

  constructor(message: JSONRPCRequest, exchange: Exchange, signal: () => AbortSignal) {
    super(message.id, exchange, signal);
    this.method = message.method;
  }

  send(): Promise<never> {
    return noChannel('anything');
  }

  log(level: string, data: unknown, logger?: string): Promise<void> {
    return this.notify({ method: 'notifications/message', params: { level, data, ...(logger === undefined ? {} : { logger }) } } as Notification);
  }

  elicitInput(): Promise<never> {
    return noChannel('input (elicitation)');
  }

  requestSampling(): Promise<never> {
    return noChannel('a completion (sampling)');
  }
}

function directContext(message: JSONRPCRequest, exchange: Exchange, signal: () => AbortSignal): ServerContext {
  return { mcpReq: new StatelessRequest(message, exchange, signal) as unknown as ServerContext['mcpReq'] };
}

export class StatelessServing {
  readonly #server: Server;
  readonly #transport = new MultiplexTransport();
  readonly #callTool: ReturnType<typeof handlersFor>['callTool'];

  private constructor(spec: McpServerSpec) {
    this.#server = createMcpServer(spec);
    // One server answers every caller, so a caller's log level must not become everyone's.
    this.#server.setRequestHandler('logging/setLevel', () => ({}));
    this.#callTool = handlersFor(spec).callTool;
  }

  static async start(spec: McpServerSpec): Promise<StatelessServing> {
    const serving = new StatelessServing(spec);
    await serving.#server.connect(serving.#transport);
    return serving;
  }

  handle(request: FastifyRequest, reply: FastifyReply, message: JSONRPCRequest, origin: CallOrigin): Promise<unknown> | FastifyReply {
    const refusal = headerRefusal(request.headers);
    if (refusal) return sendRpcError(reply, refusal.status, -32000, refusal.message);
    return new Promise((resolve) => this.#serve(message, new FastifySink(reply, resolve), origin));
  }

  /** Whether a request's headers let it be answered beside Fastify (Fastify answers the refusals). */
  takesHeaders(headers: IncomingHttpHeaders): boolean {
    return headerRefusal(headers) === undefined;
  }

  /** Answer beside Fastify, as `handle` would through it. */
  answer(message: JSONRPCRequest, res: ServerResponse, url: string, origin: CallOrigin, log: RequestLogger | undefined): void {
    this.#serve(message, new DirectSink(res, origin.requestId, log, url), origin);
  }

  #serve(message: JSONRPCRequest, sink: AnswerSink, origin: CallOrigin): void {
    const exchange = new Exchange(message.id, sink);
    const params = directToolCall(message);
    if (params) {
      // Made on first use, as for HTTP endpoints: most handlers never look at their abort signal.
      let gone: AbortController | undefined;
      let left = false;
      sink.raw.once('close', () => {
        if (exchange.done) return;
        left = true;
        gone?.abort(GONE);
        exchange.abandon();
      });
      const signal = (): AbortSignal => {
        gone ??= new AbortController();
        if (left && !gone.signal.aborted) gone.abort(GONE);
        return gone.signal;
      };
      const context = directContext(message, exchange, signal);
      withCallOrigin(origin, () => this.#callTool({ params }, context)).then(
        (result) => exchange.finish({ jsonrpc: '2.0', id: message.id, result }),
        (error: Parameters<typeof thrownRpcError>[0]) => exchange.finish(thrownRpcError(error, message.id)),
      );
      return;
    }
    const id = withCallOrigin(origin, () => this.#transport.dispatch(message, exchange));
    if (!exchange.done) {
      sink.raw.once('close', () => {
        if (exchange.done) return;
        this.#transport.abandon(id);
        exchange.abandon();
      });
    }
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}
