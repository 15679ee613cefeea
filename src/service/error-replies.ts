/** The wire protocol's error replies: a status and a body with a stable code, for anything thrown while serving a request. */
import type { FastifyError } from 'fastify';
import { ErrorCodes, TaskmeshError, type ErrorBody, type Issue } from '../errors.ts';

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
