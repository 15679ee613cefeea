/**
 * The one catalogue of taskmesh's coded errors. Every error a user can meet carries a stable `code`,
 * an HTTP status where one applies, and a message that says what to do next.
 */

export interface Issue {
  /** Where in the input the problem is, as a list of keys and indexes; `[]` for the whole body. */
  path: (string | number)[];
  message: string;
}

export const ErrorCodes = {
  /** The input did not match the endpoint's input schema (server 422, or the client before sending). */
  INVALID_INPUT: 'TASKMESH_INVALID_INPUT',
  /** A handler returned something its output schema refuses, or a reply failed the client's output check. */
  INVALID_OUTPUT: 'TASKMESH_INVALID_OUTPUT',
  /** The service answered with an error status. */
  CALL_FAILED: 'TASKMESH_CALL_FAILED',
  /** Nothing answered at the URL (connection refused, reset, DNS failure). */
  UNREACHABLE: 'TASKMESH_UNREACHABLE',
  /** The call did not finish within its timeout. */
  TIMEOUT: 'TASKMESH_TIMEOUT',
  /** The caller's AbortSignal fired. */
  ABORTED: 'TASKMESH_ABORTED',
  /** An admin endpoint was called without a valid admin token. */
  UNAUTHORIZED: 'TASKMESH_UNAUTHORIZED',
  /** A service definition is wrong (duplicate endpoint, contract task without endpoint, bad path). */
  DEFINITION: 'TASKMESH_DEFINITION',
  /** The address a service should listen on is taken. */
  PORT_IN_USE: 'TASKMESH_PORT_IN_USE',
  /** A configuration value (URL, port, config file) is wrong. */
  CONFIG: 'TASKMESH_CONFIG',
  /** The request body is larger than the service's body limit. */
  BODY_TOO_LARGE: 'TASKMESH_BODY_TOO_LARGE',
  /** No endpoint at that path. */
  NOT_FOUND: 'TASKMESH_NOT_FOUND',
  /** A handler threw. */
  HANDLER_FAILED: 'TASKMESH_HANDLER_FAILED',
  /** The service is stopping and takes no new work. */
  STOPPING: 'TASKMESH_STOPPING',
  /** An MCP request came with a Host or Origin header the service does not allow (DNS rebinding protection). */
  MCP_FORBIDDEN_ORIGIN: 'TASKMESH_MCP_FORBIDDEN_ORIGIN',
  /** An MCP session id that is malformed, forged, expired or terminated. */
  MCP_SESSION: 'TASKMESH_MCP_SESSION',
  /** A launched service did not come up: its process failed or exited early, or it did not answer in time. */
  LAUNCH_FAILED: 'TASKMESH_LAUNCH_FAILED',
  /** A gateway has no app registered under that name (404). */
  APP_NOT_REGISTERED: 'TASKMESH_APP_NOT_REGISTERED',
  /** A gateway could not reach the app it forwards to (502). */
  UPSTREAM_UNREACHABLE: 'TASKMESH_UPSTREAM_UNREACHABLE',
  /** The app behind a gateway did not answer within the gateway's upstream timeout (504). */
  UPSTREAM_TIMEOUT: 'TASKMESH_UPSTREAM_TIMEOUT',
  /** The app behind a gateway sent a reply that is not valid HTTP/1.1, or is framed two ways (502). */
  UPSTREAM_BAD_REPLY: 'TASKMESH_UPSTREAM_BAD_REPLY',
  /** A gateway's shared registry (Redis) cannot be reached, so a registration was not made (503). */
  REGISTRY_UNAVAILABLE: 'TASKMESH_REGISTRY_UNAVAILABLE',
  /** A path a gateway will not forward, since the app could read it as one outside its prefix (400). */
  UNSAFE_PATH: 'TASKMESH_UNSAFE_PATH',
  /** A request came back to the gateway that forwarded it: the app's URL leads to the gateway (508). */
  FORWARDING_LOOP: 'TASKMESH_FORWARDING_LOOP',
  /** A request's head and body did not arrive whole within the service's requestTimeout (408). */
  REQUEST_TIMEOUT: 'TASKMESH_REQUEST_TIMEOUT',
  /** What came on a connection is not an HTTP/1.1 request the service can read (400), or its head is too large (431). */
  MALFORMED_REQUEST: 'TASKMESH_MALFORMED_REQUEST',
  /** A request body stopped arriving at a gateway for longer than its callerIdleTimeout (408). */
  REQUEST_BODY_TIMEOUT: 'TASKMESH_REQUEST_BODY_TIMEOUT',
  /**
   * The stream given as the `logger` option threw: the line is lost, the request is answered all
   * the same. Not thrown: a process warning with this code, once per service.
   */
  LOG_STREAM_FAILED: 'TASKMESH_LOG_STREAM_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class TaskmeshError extends Error {
  readonly code: ErrorCode;
  /** HTTP status this error maps to, when it maps to one. */
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly issues: Issue[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { status?: number; requestId?: string; issues?: Issue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status;
    this.requestId = options.requestId;
    this.issues = options.issues;
  }
}

/** Input refused by a schema; `issues` lists every problem with its path. */
export class InvalidInputError extends TaskmeshError {
  constructor(message: string, issues: Issue[], requestId?: string) {
    super(ErrorCodes.INVALID_INPUT, message, { status: 422, issues, ...(requestId ? { requestId } : {}) });
  }
}

export class InvalidOutputError extends TaskmeshError {
  constructor(message: string, issues: Issue[], requestId?: string) {
    super(ErrorCodes.INVALID_OUTPUT, message, { status: 500, issues, ...(requestId ? { requestId } : {}) });
  }
}

/** The service answered, with an error status. Carries the status, the server's message and issues, and the request id. */
export class ServiceCallError extends TaskmeshError {
  readonly endpoint: string;
  /** The server's own error code, when it sent one. */
  readonly serverCode: string | undefined;

  constructor(endpoint: string, status: number, body: ErrorBody | undefined, requestId: string | undefined) {
    const detail = body?.message ?? `HTTP ${status}`;
    const issueText = body?.issues?.length ? `: ${formatIssues(body.issues)}` : '';
    super(
      status === 422 ? ErrorCodes.INVALID_INPUT : status === 401 ? ErrorCodes.UNAUTHORIZED : ErrorCodes.CALL_FAILED,
      `${endpoint} failed with ${status}: ${detail}${issueText}${requestId ? ` (request id ${requestId})` : ''}`,
      { status, ...(requestId ? { requestId } : {}), ...(body?.issues ? { issues: body.issues } : {}) },
    );
    this.endpoint = endpoint;
    this.serverCode = body?.code;
  }
}

export class ServiceUnreachableError extends TaskmeshError {
  readonly url: string;
  constructor(url: string, cause?: unknown) {
    const why = cause instanceof Error && 'code' in cause ? ` (${String((cause as { code: unknown }).code)})` : '';
    super(
      ErrorCodes.UNREACHABLE,
      `Nothing answers at ${url}${why}. Is the service running there? Start it, or check the URL and port.`,
      { status: 503, cause },
    );
    this.url = url;
  }
}

export class CallTimeoutError extends TaskmeshError {
  constructor(endpoint: string, url: string, timeoutMs: number) {
    super(
      ErrorCodes.TIMEOUT,
      `${endpoint} at ${url} did not answer within ${timeoutMs} ms; raise the call's \`timeout\` if it is expected to be slow.`,
      { status: 504 },
    );
  }
}

export class DefinitionError extends TaskmeshError {
  constructor(message: string) {
    super(ErrorCodes.DEFINITION, message);
  }
}

export class ConfigError extends TaskmeshError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG, message);
  }
}

/** A gateway's shared registry cannot be reached: the change was not made; retry later. */
export class RegistryUnavailableError extends TaskmeshError {
  constructor(message: string) {
    super(ErrorCodes.REGISTRY_UNAVAILABLE, message, { status: 503 });
  }
}

/** A gateway (or a gateway client) was asked for an app that is not registered. */
export class AppNotRegisteredError extends TaskmeshError {
  readonly app: string;
  constructor(app: string, registered: readonly string[], where = 'this gateway') {
    const known = registered.length ? `registered: ${registered.join(', ')}` : 'no app is registered yet';
    super(
      ErrorCodes.APP_NOT_REGISTERED,
      `No app named "${app}" is registered at ${where} (${known}). Register it with register_app, or check the name.`,
      { status: 404 },
    );
    this.app = app;
  }
}

/** A gateway could not reach a registered app (connection refused, reset, DNS failure): 502. */
export class UpstreamUnreachableError extends TaskmeshError {
  readonly app: string;
  constructor(app: string, url: string, cause?: unknown) {
    const why = cause instanceof Error && 'code' in cause ? ` (${String((cause as { code: unknown }).code)})` : '';
    super(
      ErrorCodes.UPSTREAM_UNREACHABLE,
      `The gateway cannot reach app "${app}" at ${url}${why}. Is it running? Start it, or register the right URL.`,
      { status: 502, cause },
    );
    this.app = app;
  }
}

/** A registered app's reply could not be read (broken HTTP/1.1, or framed two ways): 502, and nothing of it reaches the caller. */
export class UpstreamBadReplyError extends TaskmeshError {
  readonly app: string;
  constructor(app: string, url: string, reason: string) {
    super(
      ErrorCodes.UPSTREAM_BAD_REPLY,
      `App "${app}" at ${url} sent a reply the gateway cannot pass on: ${reason}. Fix the app's HTTP server, or what sits in front of it; the gateway closed that connection.`,
      { status: 502 },
    );
    this.app = app;
  }
}

/** A request a gateway forwarded came back to it: 508. */
export class ForwardingLoopError extends TaskmeshError {
  readonly app: string;
  constructor(app: string, url: string) {
    super(
      ErrorCodes.FORWARDING_LOOP,
      `Forwarding to app "${app}" at ${url} came back to this gateway: that URL leads here, not to the app. Register the app's own URL.`,
      { status: 508 },
    );
    this.app = app;
  }
}

/** A caller stopped sending its request body to the gateway, which gave the request up: 408. */
export class RequestBodyTimeoutError extends TaskmeshError {
  /** The app the request was for; undefined for one of the gateway's own paths. */
  readonly app: string | undefined;
  constructor(app: string | undefined, timeoutMs: number) {
    super(
      ErrorCodes.REQUEST_BODY_TIMEOUT,
      `The request body${app === undefined ? '' : ` for app "${app}"`} stopped arriving: nothing came for ${timeoutMs} ms, so the gateway gave the request up and closes the connection. Send the body without such pauses, or raise the gateway's callerIdleTimeout.`,
      { status: 408 },
    );
    this.app = app;
  }
}

/** A registered app did not answer within the gateway's upstream timeout: 504. */
export class UpstreamTimeoutError extends TaskmeshError {
  readonly app: string;
  constructor(app: string, url: string, timeoutMs: number) {
    super(
      ErrorCodes.UPSTREAM_TIMEOUT,
      `App "${app}" at ${url} did not answer within the gateway's upstream timeout of ${timeoutMs} ms; raise the gateway's upstreamTimeout if it is expected to be slow.`,
      { status: 504 },
    );
    this.app = app;
  }
}

/** The stage of a launch that failed, as the launched process reported it. */
export type LaunchFailureStage = 'spawn' | 'import' | 'export' | 'construct' | 'start' | 'onStartup' | 'worker' | 'exit' | 'timeout' | 'verify';

/**
 * A launch that failed: the message names the cause, the exit code of the launched process and the
 * last lines of its log. The process (and its workers) are gone by the time this is thrown.
 */
export class LaunchError extends TaskmeshError {
  readonly stage: LaunchFailureStage;
  /** The pid of the launched process (the group leader), when it was spawned. */
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly logFile: string | undefined;
  /** The last lines the launched process wrote (stdout and stderr), as in its log file. */
  readonly logTail: string;

  constructor(
    message: string,
    details: { stage: LaunchFailureStage; pid?: number | undefined; exitCode: number | null; signal: string | null; logFile?: string | undefined; logTail: string; code?: ErrorCode; cause?: unknown },
  ) {
    super(details.code ?? ErrorCodes.LAUNCH_FAILED, message, details.cause === undefined ? {} : { cause: details.cause });
    this.stage = details.stage;
    this.pid = details.pid;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.logFile = details.logFile;
    this.logTail = details.logTail;
  }
}

/** The JSON body of every error reply a taskmesh service sends. */
export interface ErrorBody {
  error: string;
  code: string;
  message: string;
  request_id?: string;
  issues?: Issue[];
  stack?: string;
}

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
}
