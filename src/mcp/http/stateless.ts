/**
 * 2025-era requests without a session (a client that skips `initialize`, or a load test): one
 * long-lived SDK server answers them all through a transport that multiplexes HTTP exchanges,
 * instead of a server and a transport built for every request. Each request gets a private
 * JSON-RPC id inside the server, so concurrent callers never collide; the reply is JSON, upgraded
 * to an SSE stream only when the handler sends progress or log notifications first.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, JSONRPCRequest, RequestId, Server, Transport, TransportSendOptions } from '@modelcontextprotocol/server';
import { withCallOrigin, type CallOrigin } from '../context.ts';
import { hijack, sendRpcError } from './replies.ts';

class Exchange {
  readonly originalId: RequestId;
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  readonly #resolve: (body: unknown) => void;
  #stream: ServerResponse | undefined;
  done = false;

  constructor(originalId: RequestId, request: FastifyRequest, reply: FastifyReply, resolve: (body: unknown) => void) {
    this.originalId = originalId;
    this.#request = request;
    this.#reply = reply;
    this.#resolve = resolve;
  }

  /** A notification about this request (progress, a log message): switch to SSE and pass it on. */
  notify(message: JSONRPCMessage): void {
    if (this.done) return;
    if (!this.#stream) {
      this.#stream = hijack(this.#request, this.#reply);
      this.#stream.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    }
    this.#stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  finish(response: JSONRPCMessage & { id: RequestId }): void {
    if (this.done) return;
    this.done = true;
    response.id = this.originalId;
    if (this.#stream) {
      this.#stream.end(`event: message\ndata: ${JSON.stringify(response)}\n\n`);
      this.#resolve(undefined);
    } else this.#resolve(response);
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

export class StatelessServing {
  readonly #server: Server;
  readonly #transport = new MultiplexTransport();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(server: Server): Promise<StatelessServing> {
    const serving = new StatelessServing(server);
    await server.connect(serving.#transport);
    return serving;
  }

  handle(request: FastifyRequest, reply: FastifyReply, message: JSONRPCRequest, origin: CallOrigin): Promise<unknown> | FastifyReply {
    const accept = request.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return sendRpcError(reply, 406, -32000, NOT_ACCEPTABLE);
    const version = request.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return sendRpcError(reply, 400, -32000, `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
    }
    return new Promise((resolve) => {
      const exchange = new Exchange(message.id, request, reply, resolve);
      const id = withCallOrigin(origin, () => this.#transport.dispatch(message, exchange));
      if (!exchange.done) {
        reply.raw.once('close', () => {
          if (!exchange.done) {
            exchange.done = true;
            this.#transport.abandon(id);
            resolve(undefined);
          }
        });
      }
    });
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}
