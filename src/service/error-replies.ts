/** The wire protocol's error replies: a status and a body with a stable code, for anything thrown while serving a request. */
import type { Socket } from 'node:net';
import type { FastifyError } from 'fastify';
import { ErrorCodes, TaskmeshError, type ErrorBody, type Issue } from '../errors.ts';
import { REQUEST_ID_HEADER } from '../protocol.ts';
import { newRequestId } from './request-id.ts';

const reasonPhrases: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  431: 'Request Header Fields Too Large',
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
export function toErrorReply(error: unknown, requestId: string, development: boolean): { status: number; body: ErrorBody } {
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
 * The reply to what Node's HTTP parser refuses before any handler sees a request: a request that
 * did not arrive whole within `requestTimeout`, a head too large, bytes that are not HTTP. The
 * wire protocol's error body, then the connection is closed (the rest of the request may still
 * come, and cannot be told from a next one). Fastify's `clientErrorHandler`.
 */
export function clientErrorReply(requestTimeout: number): (error: NodeJS.ErrnoException, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [
            408,
            ErrorCodes.REQUEST_TIMEOUT,
            `The request did not arrive whole within ${requestTimeout} ms (the service's requestTimeout), so the service gave it up and closes the connection. Send the whole request within that time, or raise requestTimeout (with bodyLimit, for large bodies).`,
          ]
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, ErrorCodes.MALFORMED_REQUEST, 'The request head is larger than this server reads (16 KiB by default, Node\'s --max-http-header-size): send fewer or shorter headers.']
          : [400, ErrorCodes.MALFORMED_REQUEST, `The connection carried something that is not an HTTP/1.1 request this server can read (${error.code ?? error.message}).`];
    // A reply already begun (to an earlier request on the connection) cannot be followed by this one.
    const replying = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (socket.writable && !replying) {
      const requestId = newRequestId();
      const body = JSON.stringify(errorBody(status, code, message, requestId));
      socket.write(
        `HTTP/1.1 ${status} ${reasonPhrases[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `${REQUEST_ID_HEADER}: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroySoon();
  };
}
