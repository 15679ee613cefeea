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
  raw.setHeader(REQUEST_ID_HEADER, request.id);
  const log = request.log;
  if (log instanceof RequestLogger) raw.once('finish', () => log.completed(request.method, request.url, raw.statusCode));
  return raw;
}
