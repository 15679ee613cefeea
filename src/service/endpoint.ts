/**
 * One endpoint: its task, its handler, and the one code path that validates input, runs the
 * handler and checks its output. HTTP and MCP both call `invokeEndpoint`, so both validate,
 * fail and log alike.
 */
import { DefinitionError, InvalidInputError, InvalidOutputError } from '../errors.ts';
import type { EndpointDetail } from '../protocol.ts';
import { type AnyTask, type HttpMethod, type TaskHandlerResult, type TaskParsedInput, callMethod, methodNameFor, taskJsonSchema, toIssues } from '../task.ts';

export type { HttpMethod };

/** `admin` endpoints need the admin token (see the security section of the README). */
export type EndpointScope = 'public' | 'admin';

export interface RequestContext {
  /** The request id: the caller's X-Request-ID, or one made for this request. */
  requestId: string;
  /** A logger bound to this request (pino). */
  log: { info: (obj: object, msg?: string) => void; warn: (obj: object, msg?: string) => void; error: (obj: object, msg?: string) => void };
  /** Fires when the caller goes away or the call times out. */
  signal: AbortSignal;
}

export type EndpointHandler<T extends AnyTask> = (
  input: TaskParsedInput<T>,
  context: RequestContext,
) => TaskHandlerResult<T> | Promise<TaskHandlerResult<T>>;

export interface EndpointOptions<T extends AnyTask> {
  schema: T;
  /** HTTP methods; the task's, else POST. Declare them on the task for its clients to call with the right one. */
  methods?: HttpMethod[];
  /** Also expose the endpoint as an MCP tool. */
  asTool?: boolean;
  /** The task's scope by default; give the scope on the task so that clients know to send the token. */
  scope?: EndpointScope;
}

export interface Endpoint {
  /** Path without leading slash, e.g. `echo` or `models.list`. */
  path: string;
  methodName: string;
  task: AnyTask;
  handler: (input: unknown, context: RequestContext) => unknown;
  methods: HttpMethod[];
  asTool: boolean;
  scope: EndpointScope;
  builtin: boolean;
}

const PATH_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*([./][A-Za-z_][A-Za-z0-9_-]*)*$/;

export function makeEndpoint(
  path: string,
  handler: (input: any, context: RequestContext) => unknown,
  options: EndpointOptions<AnyTask>,
  builtin = false,
): Endpoint {
  const clean = path.replace(/^\/+/, '');
  if (!PATH_PATTERN.test(clean)) {
    throw new DefinitionError(`Endpoint path "${path}" is not valid: use letters, digits, _ and -, separated by dots or slashes.`);
  }
  if (options?.schema?.kind !== 'taskmesh.task') {
    throw new DefinitionError(`Endpoint "${clean}" needs { schema: task({...}) }.`);
  }
  if (typeof handler !== 'function') {
    throw new DefinitionError(`Endpoint "${clean}" needs a handler function; got ${typeof handler}. Define the handler before calling addEndpoint.`);
  }
  const declared = options.schema.methods;
  const methods = options.methods?.length ? [...new Set(options.methods.map((m) => m.toUpperCase() as HttpMethod))] : declared ? [...declared] : ['POST' as const];
  // A contract's clients call with the method its task names: the endpoint must answer it.
  const called = callMethod(declared);
  if (!methods.includes(called)) {
    throw new DefinitionError(
      `Endpoint "${clean}" answers ${methods.join(', ')}, but clients of its task call it with ${called}: declare methods: ${JSON.stringify(methods)} on the task instead, so that they know.`,
    );
  }
  return {
    path: clean,
    methodName: methodNameFor(clean),
    task: options.schema,
    handler,
    methods,
    asTool: options.asTool ?? false,
    scope: options.scope ?? options.schema.scope,
    builtin,
  };
}

/**
 * Validate `raw` against the input schema, run the handler, check its result against the output
 * schema. Throws InvalidInputError (422) for bad input and InvalidOutputError (500) for a result
 * that breaks the contract; a handler's own error propagates unchanged. Synchronous when the
 * handler is: a promise (and a turn of the microtask queue) only where the handler makes one.
 */
export function invokeEndpoint(endpoint: Endpoint, raw: unknown, context: RequestContext): unknown {
  const result = runHandler(endpoint, raw, context);
  return isThenable(result) ? Promise.resolve(result).then((value) => checkedOutput(endpoint, value, context)) : checkedOutput(endpoint, result, context);
}

/**
 * `invokeEndpoint` for a caller that answers through callbacks (the direct HTTP path): the same
 * checks, with one promise reaction for an async handler where a returned promise and the caller's
 * `then` and `catch` made three. An `onResult` that throws (a reply that cannot be serialised, say)
 * fails like the handler, through `onError`.
 */
export function invokeEndpointThen(endpoint: Endpoint, raw: unknown, context: RequestContext, onResult: (output: unknown) => void, onError: (error: unknown) => void): void {
  const settle = (value: unknown): void => {
    try {
      onResult(checkedOutput(endpoint, value, context));
    } catch (error) {
      onError(error);
    }
  };
  let result: unknown;
  try {
    result = runHandler(endpoint, raw, context);
  } catch (error) {
    return onError(error);
  }
  // A promise of the handler's own, or any other thenable made one: each settles once.
  if (isThenable(result)) (result instanceof Promise ? result : Promise.resolve(result)).then(settle, onError);
  else settle(result);
}

/** Validate the input and run the handler: its result, unchecked (a promise if the handler makes one). */
function runHandler(endpoint: Endpoint, raw: unknown, context: RequestContext): unknown {
  const { task } = endpoint;
  let input: unknown = undefined;
  if (task.input) {
    const parsed = task.input.safeParse(raw);
    if (!parsed.success) {
      if (raw === undefined) {
        throw new InvalidInputError(`${endpoint.path} needs a JSON body; the request had none.`, [
          { path: [], message: 'Body is empty; expected JSON matching the input schema' },
        ], context.requestId);
      }
      throw new InvalidInputError(`Input for ${endpoint.path} does not match its schema.`, toIssues(parsed.error), context.requestId);
    }
    input = parsed.data;
  }
  return endpoint.handler(input, context);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function checkedOutput(endpoint: Endpoint, result: unknown, context: RequestContext): unknown {
  const { output } = endpoint.task;
  if (!output) return result;
  const checked = output.safeParse(result);
  if (!checked.success) {
    const issues = toIssues(checked.error);
    context.log.error(
      { endpoint: endpoint.path, issues },
      `handler for ${endpoint.path} returned output that does not match its output schema; fix the handler or the schema`,
    );
    throw new InvalidOutputError(`The handler for ${endpoint.path} returned output that does not match its output schema.`, issues, context.requestId);
  }
  return checked.data;
}

/** An endpoint as `detailed_endpoints` describes it. */
export function endpointDetail(endpoint: Endpoint): EndpointDetail {
  const schemas = taskJsonSchema(endpoint.task);
  return {
    path: endpoint.path,
    method_name: endpoint.methodName,
    methods: endpoint.methods,
    description: endpoint.task.description ?? null,
    input_schema: schemas.input,
    output_schema: schemas.output,
    as_tool: endpoint.asTool,
    scope: endpoint.scope,
    builtin: endpoint.builtin,
  };
}
