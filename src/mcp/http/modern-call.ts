/**
 * The plain 2026-07-28 `tools/call` served directly. The SDK's `createMcpHandler` answers such a
 * call by building a web Request, a server and a single-use transport, re-validating the request
 * and the result with its wire schemas, and writing a web Response back: several times the cost of
 * the tool call itself. This path goes straight to the tool handler those servers use, and gives
 * the same answer byte for byte:
 *
 * - it takes only a call whose answer it knows (`plainModernToolCall`): a tool name, object
 *   arguments, the envelope keys and nothing else in `_meta` (no progress token, no log level, no
 *   retry material), and standard headers that agree with the body as the SDK requires;
 * - it encodes the results taskmesh's tools give (text content, structured content, isError) and
 *   invalid-params errors the way the SDK's wire codec does; any other result or error (a
 *   handler's own content blocks, an input-required result, a protocol error of another kind) is
 *   encoded by the SDK itself, by replaying the outcome through an SDK server (`sdkAnswer`);
 * - the handler's context behaves as the SDK's does on this revision: logging without a log
 *   level is silent, the server cannot ask the client anything, a notification turns the answer
 *   into an SSE stream, and a caller that hangs up aborts the handler's signal.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  PerRequestHTTPServerTransport,
  ProtocolError,
  ProtocolErrorCode,
  SERVER_INFO_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  SdkError,
  SdkErrorCode,
  Server,
} from '@modelcontextprotocol/server';
import type { Implementation, JSONRPCMessage, JSONRPCRequest, ServerContext } from '@modelcontextprotocol/server';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import { CAPABILITIES, handlersFor, type McpServerSpec } from '../server.ts';
import { takeOver } from '../../service/take-over.ts';
import { DirectRequest } from './direct-request.ts';
import { webRequest } from './replies.ts';

/** The revision this path serves; a request naming another goes to the SDK, which knows what to answer. */
export const DIRECT_REVISION = '2026-07-28';

const ENVELOPE_KEYS = new Set<string>([PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY]);
const CALL_KEYS = new Set(['name', 'arguments', '_meta']);
const RESULT_KEYS = new Set(['content', 'structuredContent', 'isError']);
/** PerRequestHTTPServerTransport's stream headers and keep-alive interval. */
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' };
const KEEP_ALIVE_MS = 15_000;

export interface ModernToolCall {
  name: string;
  arguments?: Record<string, unknown>;
  envelope: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

/** An object literal's kind of object: what the codec's record schema takes as it is (a Date or a Map it may not). */
function isLiteralObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const IMPLEMENTATION_KEYS = new Set(['name', 'version']);

/**
 * A `tools/call` that the SDK's classifier would route to the 2026-07-28 serving as it is: a
 * JSON-RPC request by its strict schema, with the envelope a client that declares no capabilities
 * sends. The classifier checks the body against several schemas, which costs more than the rest of
 * a plain call, so such a request skips it; any other shape still goes through it.
 */
export function isPlainModernRequest(body: unknown): body is JSONRPCRequest {
  if (!isPlainObject(body) || !onlyKeys(body, REQUEST_KEYS) || body.jsonrpc !== '2.0' || body.method !== 'tools/call') return false;
  if (typeof body.id !== 'string' && !Number.isSafeInteger(body.id)) return false;
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  if (!isPlainObject(meta) || typeof meta[PROTOCOL_VERSION_META_KEY] !== 'string') return false;
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  if (!isLiteralObject(capabilities) || Object.keys(capabilities).length > 0) return false;
  const info = meta[CLIENT_INFO_META_KEY];
  return info === undefined || (isLiteralObject(info) && onlyKeys(info, IMPLEMENTATION_KEYS) && typeof info.name === 'string' && typeof info.version === 'string');
}

/**
 * The call this path serves, from a request whose envelope is valid (the SDK's classifier found it
 * modern, or `isPlainModernRequest` passed it); undefined for anything else. The headers must be those the SDK checks next, given
 * plainly (an encoded Mcp-Name goes to the SDK, which decodes it).
 */
export function plainModernToolCall(message: JSONRPCRequest, headers: IncomingHttpHeaders): ModernToolCall | undefined {
  if (message.method !== 'tools/call') return undefined;
  const params: unknown = message.params;
  if (!isPlainObject(params) || !onlyKeys(params, CALL_KEYS)) return undefined;
  const { name, arguments: args, _meta: meta } = params;
  if (typeof name !== 'string' || (args !== undefined && !isPlainObject(args))) return undefined;
  if (!isPlainObject(meta) || !onlyKeys(meta, ENVELOPE_KEYS) || meta[PROTOCOL_VERSION_META_KEY] !== DIRECT_REVISION) return undefined;
  if (headers['mcp-protocol-version'] !== DIRECT_REVISION || headers['mcp-method'] !== 'tools/call' || headers['mcp-name'] !== name || name.startsWith('=?')) return undefined;
  return { name, ...(args === undefined ? {} : { arguments: args }), envelope: meta };
}


/** The SDK's wire encoding of a result made only of text content, structured content and isError; undefined for any other. */
function encodePlainResult(result: unknown, serverInfo: Implementation): Record<string, unknown> | undefined {
  if (!isLiteralObject(result) || !onlyKeys(result, RESULT_KEYS)) return undefined;
  const { content = [], structuredContent, isError } = result;
  if (!Array.isArray(content) || (structuredContent !== undefined && !isLiteralObject(structuredContent)) || (isError !== undefined && typeof isError !== 'boolean')) return undefined;
  for (const block of content) {
    if (!isPlainObject(block) || block.type !== 'text' || typeof block.text !== 'string' || Object.keys(block).length !== 2) return undefined;
  }
  // The codec's schema order, then the fields its encoder appends.
  return {
    content: content.map((block: { text: string }) => ({ type: 'text', text: block.text })),
    ...(structuredContent === undefined ? {} : { structuredContent }),
    ...(isError === undefined ? {} : { isError }),
    resultType: 'complete',
    _meta: { [SERVER_INFO_META_KEY]: serverInfo },
  };
}

/** The SDK's wire encoding of the invalid-params errors taskmesh's tool handler throws (unknown tool, invalid arguments); undefined for any other error. */
function encodePlainError(error: unknown): { code: number; message: string; data?: unknown } | undefined {
  if (!(error instanceof ProtocolError) || error.code !== ProtocolErrorCode.InvalidParams) return undefined;
  return { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) };
}

/**
 * The SDK's own answer for an outcome this path does not encode: an SDK server whose `tools/call`
 * handler gives that outcome, served the same message through the SDK's per-request transport.
 */
async function sdkAnswer(info: Implementation, message: JSONRPCRequest, outcome: { result: unknown } | { error: unknown }): Promise<{ status: number; body: string }> {
  const server = new Server(info, { capabilities: CAPABILITIES, supportedProtocolVersions: [DIRECT_REVISION, ...SUPPORTED_PROTOCOL_VERSIONS] });
  server.setRequestHandler('tools/call', () => ('error' in outcome ? Promise.reject(outcome.error) : (outcome.result as never)));
  const transport = new PerRequestHTTPServerTransport({ classification: { era: 'modern', revision: DIRECT_REVISION }, responseMode: 'json' });
  await server.connect(transport);
  const response = await transport.handleMessage(message);
  return { status: response.status, body: await response.text() };
}

function pushRefused(method: string): SdkError {
  return new SdkError(
    SdkErrorCode.MethodNotSupportedByProtocolVersion,
    `Server-to-client requests are not available on protocol revision ${DIRECT_REVISION}: '${method}' cannot be sent while serving a request on that revision. Return inputRequired({ ... }) from the handler instead — the client fulfils the embedded requests and retries the original request (multi round-trip requests).`,
    { method, era: DIRECT_REVISION },
  );
}

/** One call's HTTP exchange: a JSON answer, or an SSE stream once the handler sends a notification. */
class ModernExchange {
  readonly #reply: FastifyReply;
  readonly #resolve: () => void;
  #stream: ServerResponse | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  done = false;

  constructor(reply: FastifyReply, resolve: () => void) {
    this.#reply = reply;
    this.#resolve = resolve;
  }

  notify(message: JSONRPCMessage): void {
    if (this.done) return;
    if (!this.#stream) {
      this.#stream = takeOver(this.#reply);
      this.#stream.writeHead(200, SSE_HEADERS);
      const stream = this.#stream;
      this.#keepAlive = setInterval(() => stream.write(': keepalive\n\n'), KEEP_ALIVE_MS).unref();
    }
    this.#stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** The answer, already serialized as the SDK would (its key order matters for byte equality). */
  finish(status: number, body: string): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.#keepAlive);
    if (this.#stream) this.#stream.end(`event: message\ndata: ${body}\n\n`);
    else {
      // Written raw: Fastify would add a charset to the SDK's content type.
      const raw = takeOver(this.#reply);
      raw.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      raw.end(body);
    }
    this.#resolve();
  }

  /** The caller went away before the answer. */
  abandon(): void {
    this.done = true;
    clearInterval(this.#keepAlive);
    if (!this.#reply.sent) this.#reply.hijack();
    this.#resolve();
  }
}

/** `ctx.mcpReq` as the SDK builds it for a 2026-07-28 request. */
class ModernRequest extends DirectRequest {
  readonly method = 'tools/call';
  // The envelope is lifted out of `_meta`, and nothing else may be there on this path.
  readonly _meta = undefined;
  readonly envelope: Record<string, unknown>;

  constructor(id: JSONRPCRequest['id'], envelope: Record<string, unknown>, exchange: ModernExchange, signal: () => AbortSignal) {
    super(id, exchange, signal);
    this.envelope = envelope;
  }

  send(request: { method: string }): never {
    throw new SdkError(SdkErrorCode.MethodNotSupportedByProtocolVersion, `Method '${request.method}' is not supported by the negotiated protocol version (wire era ${DIRECT_REVISION})`, {
      method: request.method,
      era: DIRECT_REVISION,
    });
  }

  /** Without a log level in the envelope (this path takes none), the SDK sends no log messages on this revision. */
  log(): Promise<void> {
    return Promise.resolve();
  }

  elicitInput(): Promise<never> {
    return Promise.reject(pushRefused('elicitation/create'));
  }

  requestSampling(): Promise<never> {
    return Promise.reject(pushRefused('sampling/createMessage'));
  }
}

/** The SDK's handler context for the call; its `http.req` is made only if a handler asks. */
class ModernContext {
  readonly sessionId = undefined;
  readonly mcpReq: ModernRequest;
  readonly #request: FastifyRequest;
  #http: { req: Request } | undefined;

  constructor(mcpReq: ModernRequest, request: FastifyRequest) {
    this.mcpReq = mcpReq;
    this.#request = request;
  }

  get http(): { req: Request } {
    return (this.#http ??= { req: webRequest(this.#request.headers, this.#request.url, this.#request.method, this.#request.body) });
  }
}

export class ModernCallServing {
  readonly #callTool: ReturnType<typeof handlersFor>['callTool'];
  readonly #info: Implementation;

  constructor(spec: McpServerSpec) {
    this.#callTool = handlersFor(spec).callTool;
    this.#info = spec.info;
  }

  handle(request: FastifyRequest, reply: FastifyReply, message: JSONRPCRequest, call: ModernToolCall, origin: CallOrigin): Promise<void> {
    return new Promise((resolve) => {
      const exchange = new ModernExchange(reply, resolve);
      // Made on first use, as for HTTP endpoints: most handlers never look at their abort signal.
      let gone: AbortController | undefined;
      let left = false;
      // The reason the SDK's per-request server aborts its handlers with when the exchange closes.
      const closed = (): SdkError => new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
      reply.raw.once('close', () => {
        if (exchange.done) return;
        left = true;
        gone?.abort(closed());
        exchange.abandon();
      });
      const signal = (): AbortSignal => {
        gone ??= new AbortController();
        if (left && !gone.signal.aborted) gone.abort(closed());
        return gone.signal;
      };
      const context = new ModernContext(new ModernRequest(message.id, call.envelope, exchange, signal), request) as unknown as ServerContext;
      const params = { name: call.name, ...(call.arguments === undefined ? {} : { arguments: call.arguments }) };
      const answer = (outcome: { result: unknown } | { error: unknown }): void => {
        if (exchange.done) return;
        const result = 'result' in outcome ? encodePlainResult(outcome.result, this.#info) : undefined;
        if (result) return exchange.finish(200, JSON.stringify({ result, jsonrpc: '2.0', id: message.id }));
        const error = 'error' in outcome ? encodePlainError(outcome.error) : undefined;
        if (error) return exchange.finish(200, JSON.stringify({ jsonrpc: '2.0', id: message.id, error }));
        sdkAnswer(this.#info, message, outcome).then(
          ({ status, body }) => exchange.finish(status, body),
          // What the SDK's entry answers when its own serving fails.
          () => exchange.finish(500, JSON.stringify({ jsonrpc: '2.0', error: { code: ProtocolErrorCode.InternalError, message: 'Internal server error' }, id: message.id })),
        );
      };
      withCallOrigin(origin, () => this.#callTool({ params }, context)).then(
        (result) => answer({ result }),
        (error: unknown) => answer({ error }),
      );
    });
  }
}
