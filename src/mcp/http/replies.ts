/** JSON-RPC error replies, and web `Response`s written to a Node response, for the MCP endpoint. */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export interface RpcErrorBody {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data?: unknown };
}

export function rpcError(code: number, message: string, data?: unknown, id: string | number | null = null): RpcErrorBody {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/** Send a JSON-RPC error with an HTTP status (the Streamable HTTP transport answers transport errors this way). */
export function sendRpcError(reply: FastifyReply, status: number, code: number, message: string, data?: unknown, id: string | number | null = null): FastifyReply {
  if (status === 405) void reply.header('allow', 'GET, POST, DELETE');
  return reply.code(status).send(rpcError(code, message, data, id));
}

/** Write a web Response (a JSON body or an SSE stream) to a Node response; a client that goes away cancels the stream. */
export async function writeWebResponse(raw: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  raw.writeHead(response.status, headers);
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
