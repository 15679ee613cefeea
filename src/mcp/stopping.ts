/**
 * MCP while the service is stopping. Its listener is closed, but a request can still arrive on a
 * connection opened before, and serving it as usual would open sessions and streams in a runtime
 * about to close, or load a new runtime into a stopping service. So, as HTTP endpoints answer 503
 * TASKMESH_STOPPING:
 *
 * - new work is refused with 503 and a JSON-RPC error that says to retry elsewhere or later: a
 *   JSON-RPC request (`initialize`, `tools/call`, any listing, `subscriptions/listen`, in any
 *   protocol era, with or without a session), a batch that holds one, a GET stream, or a body that
 *   is none of these;
 * - what winds down work under way (a notification such as a cancellation, a response to the
 *   server's own request, the DELETE that ends a session) goes to the runtime while it still
 *   serves calls in progress; once it has closed, the session it belonged to has ended, and it
 *   gets what a notification without a session gets (202), or 200 for a DELETE.
 *
 * Calls already in progress are past this check and finish: the runtime closes once they have
 * (CallsInProgress).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes } from '../errors.ts';
import { ServerStatus } from '../protocol.ts';
import { sendRpcError } from './http/replies.ts';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON-RPC notification or response: a message that asks for no new work. */
function windsDown(message: unknown): boolean {
  if (!isObject(message) || message.jsonrpc !== '2.0') return false;
  if (typeof message.method === 'string') return !('id' in message);
  return 'id' in message && ('result' in message || 'error' in message);
}

function requestId(body: unknown): string | number | null {
  const id = isObject(body) ? body.id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** While the service is Stopping or Down: whether a request asks for new work or winds down work under way; undefined while it serves. */
export function whileStopping(request: FastifyRequest, status: ServerStatus): 'refuse' | 'wind-down' | undefined {
  if (status !== ServerStatus.Stopping && status !== ServerStatus.Down) return undefined;
  if (request.method === 'DELETE') return 'wind-down';
  const messages = Array.isArray(request.body) ? request.body : [request.body];
  return request.method === 'POST' && messages.length > 0 && messages.every(windsDown) ? 'wind-down' : 'refuse';
}

export function refuseWhileStopping(request: FastifyRequest, reply: FastifyReply, status: ServerStatus, className: string): FastifyReply {
  const message = `${className} is ${status} and takes no new MCP sessions or requests; retry on another instance of it, or once it is back.`;
  return sendRpcError(reply, 503, -32000, message, { code: ErrorCodes.STOPPING }, requestId(request.body));
}

/** What winds down work under way, once no runtime is left to take it: its session has ended. */
export function windDownWithoutRuntime(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(request.method === 'DELETE' ? 200 : 202).send();
}

/** A GET stream (2025-era) or `subscriptions/listen` (2026-07-28): it ends only when closed. */
function isStream(request: FastifyRequest): boolean {
  return request.method === 'GET' || (isObject(request.body) && request.body.method === 'subscriptions/listen');
}

/** The MCP exchanges in progress that end on their own: calls, not streams. */
export class CallsInProgress {
  #count = 0;
  #idle: (() => void)[] = [];

  /** Count the exchange, unless it is a stream, until its response closes (answered, or its caller gone). */
  track(request: FastifyRequest, response: ServerResponse): void {
    if (!isStream(request)) this.trackCall(response);
  }

  /** Count a call until its response closes. */
  trackCall(response: ServerResponse): void {
    this.#count += 1;
    response.once('close', () => {
      this.#count -= 1;
      if (this.#count === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  /** Resolves once no call is in progress. */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}
