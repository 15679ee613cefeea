/**
 * Prompts: a name, optional string arguments (a zod object, so they are validated and described
 * once), and a handler whose return value becomes the prompt's messages. Nothing here loads the
 * MCP SDK.
 */
import type { z } from 'zod';
import type { GetPromptResult, Prompt, PromptMessage } from '@modelcontextprotocol/server';
import { DefinitionError } from '../errors.ts';
import { taskJsonSchema, type AnyTask, type Schema } from '../task.ts';
import type { McpContext } from './context.ts';
import type { CompleteFn } from './resource.ts';

export interface PromptOptions<A extends Schema | undefined = Schema | undefined> {
  /** The arguments: a z.object of strings (MCP prompt arguments are strings); `.describe()` texts become their descriptions. */
  arguments?: A;
  title?: string;
  description?: string;
  /** Completions for the arguments, by argument name (`completion/complete`). */
  complete?: Record<string, CompleteFn>;
}

/** A string (one user message), a list of messages, or a whole `GetPromptResult`. */
export type PromptBody = string | PromptMessage[] | GetPromptResult;

export type PromptHandler<A extends Schema | undefined> = (
  args: A extends Schema ? z.output<A> : void,
  context: McpContext,
) => PromptBody | Promise<PromptBody>;

export interface PromptDefinition {
  name: string;
  listing: Prompt;
  /** Holds the argument schema, so that arguments are validated like an endpoint's input. */
  task: AnyTask;
  handler: (args: any, context: McpContext) => PromptBody | Promise<PromptBody>;
  options: PromptOptions;
}

const PROMPT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function promptDefinition(name: string, handler: PromptDefinition['handler'], options: PromptOptions, serviceName: string): PromptDefinition {
  if (typeof name !== 'string' || !PROMPT_NAME.test(name)) {
    throw new DefinitionError(`Prompt name "${String(name)}" of ${serviceName} is not valid: use 1 to 128 letters, digits, "_", "-" and ".".`);
  }
  if (typeof handler !== 'function') throw new DefinitionError(`addPrompt("${name}") needs a handler function; got ${typeof handler}.`);
  const task: AnyTask = Object.freeze({ kind: 'taskmesh.task', name, description: options.description, input: options.arguments, output: undefined, scope: 'public', methods: undefined });
  const schema = taskJsonSchema(task).input;
  if (schema && schema.type !== 'object') {
    throw new DefinitionError(`addPrompt("${name}"): "arguments" must be a z.object whose fields are strings.`);
  }
  const properties = (schema?.properties ?? {}) as Record<string, { description?: string }>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  const listing: Prompt = {
    name,
    ...(options.title ? { title: options.title } : {}),
    ...(options.description ? { description: options.description } : {}),
    ...(schema
      ? {
          arguments: Object.entries(properties).map(([argument, property]) => ({
            name: argument,
            ...(property.description ? { description: property.description } : {}),
            required: required.has(argument),
          })),
        }
      : {}),
  };
  return { name, listing, task, handler, options };
}

/** A prompt handler's return value as `prompts/get`'s result. */
export function promptResult(name: string, body: PromptBody, description: string | undefined): GetPromptResult {
  if (typeof body === 'string') {
    return { ...(description ? { description } : {}), messages: [{ role: 'user', content: { type: 'text', text: body } }] };
  }
  if (Array.isArray(body)) return { ...(description ? { description } : {}), messages: body };
  if (body && typeof body === 'object' && Array.isArray((body as GetPromptResult).messages)) return body as GetPromptResult;
  throw new TypeError(`The handler of prompt "${name}" returned ${typeof body}; return a string, a list of messages or { messages }.`);
}
