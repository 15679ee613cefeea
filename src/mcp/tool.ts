/**
 * Tools: an `asTool` endpoint or an MCP-only tool from `addTool`, described once (name, JSON
 * Schemas, description naming the service) and run through the endpoint's one validate-run-check
 * path, `invokeEndpoint`. Nothing here loads the MCP SDK.
 */
import type { z } from 'zod';
import type { Tool, ToolAnnotations } from '@modelcontextprotocol/server';
import { DefinitionError } from '../errors.ts';
import { taskJsonSchema, type AnyTask, type JsonSchema, type Schema } from '../task.ts';
import type { Endpoint } from '../service/endpoint.ts';
import type { McpContext } from './context.ts';

/** MCP tool names (SEP-986): 1 to 128 letters, digits, `_`, `-` and `.`. */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface ToolOptions<I extends Schema | undefined = Schema | undefined, O extends Schema | undefined = Schema | undefined> {
  /** The arguments, as a zod object; the tool takes none when absent. */
  input?: I;
  /** The result: returned as `structuredContent` (and as JSON text) and advertised as `outputSchema`. */
  output?: O;
  description?: string;
  title?: string;
  annotations?: ToolAnnotations;
}

/**
 * A tool handler gets the parsed arguments (defaults filled in) and the MCP context. With an
 * `output` schema it returns the data; without one it may return a whole `CallToolResult`
 * (`{ content: [...] }`, for images, audio or embedded resources), a string (one text block), or any
 * other JSON value (as JSON text, and as `structuredContent` when it is an object).
 */
export type ToolHandler<I extends Schema | undefined, O extends Schema | undefined> = (
  input: I extends Schema ? z.output<I> : void,
  context: McpContext,
) => (O extends Schema ? z.input<O> : unknown) | Promise<O extends Schema ? z.input<O> : unknown>;

export interface ToolDefinition {
  name: string;
  /** The tool as `tools/list` shows it. */
  listing: Tool;
  /** Run through `invokeEndpoint`, so that arguments and results are checked as for HTTP. */
  endpoint: Endpoint;
  /** Non-object outputs travel as `structuredContent: { result }`, since structured content is an object. */
  wrapOutput: boolean;
  hasOutput: boolean;
  /** From an `asTool` endpoint (removed only with the service) or from `addTool`. */
  source: 'endpoint' | 'tool';
  /** The input has a `payload` field of its own: arguments wrapped in one, as the reference's clients send them, are not unwrapped. */
  hasPayloadField: boolean;
}

/** Like the reference, a tool's description names its service, so that a client with many servers can tell them apart. */
function describe(name: string, serviceName: string, description: string | undefined): string {
  const origin = `tool "${name}" of ${serviceName}`;
  return description ? `${description} (${origin})` : `The ${origin}.`;
}

function objectRoot(schema: JsonSchema | null): boolean {
  return schema === null || schema.type === 'object';
}

function outputListing(schema: JsonSchema): { outputSchema: Tool['outputSchema']; wrap: boolean } {
  if (schema.type === 'object') return { outputSchema: schema as Tool['outputSchema'], wrap: false };
  const { $schema, ...inner } = schema;
  return {
    outputSchema: { ...(typeof $schema === 'string' ? { $schema } : {}), type: 'object', properties: { result: inner }, required: ['result'] },
    wrap: true,
  };
}

function definition(name: string, task: AnyTask, endpoint: Endpoint, source: ToolDefinition['source'], extra: Pick<ToolOptions, 'title' | 'annotations'>, serviceName: string): ToolDefinition {
  const schemas = taskJsonSchema(task);
  if (!objectRoot(schemas.input)) {
    throw new DefinitionError(
      `Tool "${name}" of ${serviceName}: MCP tool arguments are an object, so its input schema must be a z.object (or absent); wrap the value in an object.`,
    );
  }
  const output = schemas.output ? outputListing(schemas.output) : undefined;
  const listing: Tool = {
    name,
    ...(extra.title ? { title: extra.title } : {}),
    description: describe(name, serviceName, task.description),
    inputSchema: (schemas.input ?? { type: 'object', properties: {} }) as Tool['inputSchema'],
    ...(output ? { outputSchema: output.outputSchema } : {}),
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
  const hasPayloadField = Object.hasOwn((schemas.input?.properties ?? {}) as object, 'payload');
  return { name, listing, endpoint, wrapOutput: output?.wrap ?? false, hasOutput: output !== undefined, source, hasPayloadField };
}

export function checkToolName(name: string, serviceName: string): void {
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw new DefinitionError(`Tool name "${String(name)}" of ${serviceName} is not valid: use 1 to 128 letters, digits, "_", "-" and ".".`);
  }
}

/** The tool of an `asTool` endpoint: named by its path (`/` becomes `_`), its arguments are the endpoint's input, flat. */
export function endpointTool(endpoint: Endpoint, serviceName: string): ToolDefinition {
  const name = endpoint.path.replace(/\//g, '_');
  checkToolName(name, serviceName);
  return definition(name, endpoint.task, endpoint, 'endpoint', {}, serviceName);
}

/** An MCP-only tool: a pseudo-endpoint (never routed over HTTP) so that it runs through the same checks. */
export function mcpOnlyTool(name: string, handler: (input: any, context: McpContext) => unknown, options: ToolOptions, serviceName: string): ToolDefinition {
  checkToolName(name, serviceName);
  if (typeof handler !== 'function') {
    throw new DefinitionError(`addTool("${name}") needs a handler function; got ${typeof handler}. Define the handler before calling addTool.`);
  }
  const task: AnyTask = Object.freeze({ kind: 'taskmesh.task', name, description: options.description, input: options.input, output: options.output, scope: 'public', methods: undefined });
  const endpoint: Endpoint = {
    path: name,
    methodName: name,
    task,
    handler: handler as Endpoint['handler'],
    methods: [],
    asTool: true,
    scope: 'public',
    builtin: false,
  };
  return definition(name, task, endpoint, 'tool', options, serviceName);
}
