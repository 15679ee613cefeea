/** JSON-RPC error replies, and web Requests and Responses made from and written to Node's, for the MCP endpoint. */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export interface RpcErrorBody {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data?: unknown };
}

export function rpcError(code: number, message: string, data?: unknown, id: string | number | null = null): RpcErrorBody {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/**
 * The answer to a request whose handler threw: the error's own JSON-RPC code (a ProtocolError's),
 * else JSON-RPC's internal error (-32603), with its message and data. What the SDK's server answers.
 */
export function thrownRpcError(error: { code?: unknown; message?: string; data?: unknown } | undefined, id: string | number): RpcErrorBody & { id: string | number } {
  const code = Number.isSafeInteger(error?.code) ? (error!.code as number) : -32603;
  return { ...rpcError(code, error?.message ?? 'Internal error', error?.data), id };
}

/** Send a JSON-RPC error with an HTTP status (the Streamable HTTP transport answers transport errors this way). */
export function sendRpcError(reply: FastifyReply, status: number, code: number, message: string, data?: unknown, id: string | number | null = null): FastifyReply {
  if (status === 405) void reply.header('allow', 'GET, POST, DELETE');
  return reply.code(status).send(rpcError(code, message, data, id));
}

/**
 * Write a web Response (a JSON body or an SSE stream) to a Node response; a client that goes away
 * cancels the stream. `before`, events for an SSE stream to begin with, goes out after the head.
 */
export async function writeWebResponse(raw: ServerResponse, response: Response, before?: string): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  raw.writeHead(response.status, headers);
  // A stream (a session's GET stream above all) may carry nothing for a long time: its client
  // learns at once that it is open, rather than waiting, or timing out, for its first event.
  if (headers['content-type']?.startsWith('text/event-stream')) {
    if (before) raw.write(before);
    else raw.flushHeaders();
  }
  if (!response.body) {
    raw.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  raw.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!raw.write(value)) {
        await new Promise<void>((resolve) => {
          raw.once('drain', resolve);
          raw.once('close', resolve);
        });
      }
    }
  } catch {
    // The stream failed or was cancelled because the client left; nothing more to send.
  } finally {
    raw.off('close', cancel);
    raw.end();
  }
}

/** A request as the web Request the SDK hands handlers in `ctx.http.req`, its parsed JSON body sent again. */
export function webRequest(nodeHeaders: IncomingHttpHeaders, url: string, method: string, body: unknown): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(nodeHeaders)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) headers.append(name, one);
  }
  return new Request(`http://${nodeHeaders.host ?? 'localhost'}${url}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}
