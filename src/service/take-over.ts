/**
 * Taking a reply over from Fastify, for what writes its own response (an MCP stream, a gateway
 * relay). Fastify then runs no onSend hook for it, so what those hooks do for every other reply is
 * done here: the headers set so far (CORS), the request id header, and the request's log line,
 * written when the response ends.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { REQUEST_ID_HEADER } from '../protocol.ts';
import { RequestLogger } from './logging.ts';

export function takeOver(reply: FastifyReply): ServerResponse {
  const pending = reply.getHeaders();
  reply.hijack();
  const { raw, request } = reply;
  for (const [name, value] of Object.entries(pending)) if (value !== undefined) raw.setHeader(name, value);
  const log = request.log;
  return takeOverRaw(raw, request.id, log instanceof RequestLogger ? log : undefined, request.method, request.url);
}

/** The same for a response answered beside Fastify (src/service/direct-calls.ts), which has no headers set yet. */
export function takeOverRaw(raw: ServerResponse, requestId: string, log: RequestLogger | undefined, method: string, url: string): ServerResponse {
  raw.setHeader(REQUEST_ID_HEADER, requestId);
  if (log) raw.once('finish', () => log.completed(method, url, raw.statusCode));
  return raw;
}
