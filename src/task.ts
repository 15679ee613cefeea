/**
 * Task contracts: one typed definition of each endpoint, shared by the service and its clients.
 * This module imports nothing from the server side so that a client bundle stays small.
 */
import { z } from 'zod';
import { DefinitionError, type Issue } from './errors.ts';

export type Schema = z.ZodType;

/** An HTTP method an endpoint answers. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const HTTP_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface Task<
  N extends string = string,
  I extends Schema | undefined = Schema | undefined,
  O extends Schema | undefined = Schema | undefined,
> {
  readonly kind: 'taskmesh.task';
  /** The endpoint path the task is served at (dots allowed, e.g. `models.list`). */
  readonly name: N;
  readonly description: string | undefined;
  readonly input: I;
  readonly output: O;
  /**
   * `admin` tasks need the service's admin token. Clients send their token with these calls only,
   * so a token never travels to endpoints (or, through a gateway, to apps) that do not need it.
   */
  readonly scope: 'public' | 'admin';
  /**
   * The HTTP methods of the task's endpoint, when not POST alone. Its clients call with POST if
   * it is among them, else with the first (a GET sends the input as the query string).
   */
  readonly methods: readonly HttpMethod[] | undefined;
}

/** The method a client calls an endpoint with: POST when it answers POST (or says nothing), else its first. */
export function callMethod(methods: readonly string[] | undefined): HttpMethod {
  return !methods?.length || methods.includes('POST') ? 'POST' : (methods[0] as HttpMethod);
}

export type AnyTask = Task<string, Schema | undefined, Schema | undefined>;

/** What a caller passes: the schema's input type (defaults optional), or nothing for a task without input. */
export type TaskInput<T extends AnyTask> = T['input'] extends Schema ? z.input<T['input']> : T['input'] extends undefined ? void : unknown;
/** What a handler receives: the parsed input (defaults filled in). */
export type TaskParsedInput<T extends AnyTask> = T['input'] extends Schema ? z.output<T['input']> : T['input'] extends undefined ? void : unknown;
/** What a caller gets back: the parsed output, or `unknown` for a task without output schema. */
export type TaskOutput<T extends AnyTask> = T['output'] extends Schema ? z.output<T['output']> : unknown;
/** What a handler may return: anything the output schema accepts. */
export type TaskHandlerResult<T extends AnyTask> = T['output'] extends Schema ? z.input<T['output']> : unknown;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

export function task<
  const N extends string,
  I extends Schema | undefined = undefined,
  O extends Schema | undefined = undefined,
>(definition: { name: N; description?: string; input?: I; output?: O; scope?: 'public' | 'admin'; methods?: HttpMethod[] }): Task<N, I, O> {
  if (!NAME_PATTERN.test(definition.name)) {
    throw new DefinitionError(
      `Task name "${definition.name}" is not a valid endpoint path: use letters, digits, _ and -, with dots between segments (e.g. "models.list").`,
    );
  }
  const unknown = definition.methods?.find((method) => !HTTP_METHODS.includes(method));
  if (unknown !== undefined || definition.methods?.length === 0) {
    throw new DefinitionError(`Task "${definition.name}" has methods ${JSON.stringify(definition.methods)}: give one or more of ${HTTP_METHODS.join(', ')}, in capitals.`);
  }
  return Object.freeze({
    kind: 'taskmesh.task',
    name: definition.name,
    description: definition.description,
    input: definition.input as I,
    output: definition.output as O,
    scope: definition.scope ?? 'public',
    methods: definition.methods ? Object.freeze([...new Set(definition.methods)]) : undefined,
  });
}

export interface Contract<N extends string = string, T extends Record<string, AnyTask> = Record<string, AnyTask>> {
  readonly kind: 'taskmesh.contract';
  /** The service's name; by convention its class name. */
  readonly name: N;
  /** Tasks keyed by client method name. Each is served at `task.name`. */
  readonly tasks: T;
}

export type AnyContract = Contract<string, Record<string, AnyTask>>;

/** A contract groups the tasks of one service. The keys become the client's method names. */
export function contract<const N extends string, const T extends Record<string, AnyTask>>(name: N, tasks: T): Contract<N, T> {
  const seen = new Map<string, string>();
  for (const [key, t] of Object.entries(tasks)) {
    if (t?.kind !== 'taskmesh.task') throw new DefinitionError(`Contract ${name}: "${key}" is not a task; build it with task({...}).`);
    const other = seen.get(t.name);
    if (other !== undefined) throw new DefinitionError(`Contract ${name}: "${key}" and "${other}" are both served at "${t.name}".`);
    seen.set(t.name, key);
  }
  return Object.freeze({ kind: 'taskmesh.contract', name, tasks: Object.freeze({ ...tasks }) });
}

export type JsonSchema = Record<string, unknown>;

export interface TaskJsonSchemas {
  input: JsonSchema | null;
  output: JsonSchema | null;
}

const jsonSchemaCache = new WeakMap<AnyTask, TaskJsonSchemas>();

/** JSON Schema (draft 2020-12) of a task's input (as callers send it) and output (as callers receive it). */
export function taskJsonSchema(t: AnyTask): TaskJsonSchemas {
  let cached = jsonSchemaCache.get(t);
  if (!cached) {
    cached = {
      input: t.input ? (z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema) : null,
      output: t.output ? (z.toJSONSchema(t.output, { io: 'output', unrepresentable: 'any' }) as JsonSchema) : null,
    };
    jsonSchemaCache.set(t, cached);
  }
  return cached;
}

/** zod's issues in taskmesh's wire shape: a path of keys and indexes, and a message. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: issue.message,
  }));
}

/** A valid JS identifier for an endpoint path: `models.list` becomes `models_list`. */
export function methodNameFor(path: string): string {
  return path.replace(/[^A-Za-z0-9_$]/g, '_');
}
