/**
 * Resources: static ones (a fixed URI) and templated ones (an RFC 6570 URI template such as
 * `notes://{id}`), each with a read handler whose return value is turned into `contents`.
 * Nothing here loads the MCP SDK.
 */
import type { Annotations, ReadResourceResult, Resource, ResourceTemplateType } from '@modelcontextprotocol/server';
import { DefinitionError } from '../errors.ts';
import type { McpContext } from './context.ts';

/** Suggests values for one argument (`completion/complete`); gets the partial value and the other arguments given so far. */
export type CompleteFn = (value: string, context: { arguments: Record<string, string> }) => string[] | Promise<string[]>;

export interface ResourceOptions {
  /** Shown in `resources/list`; the URI (or template) when absent. */
  name?: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
  annotations?: Annotations;
  /** Templates only: the concrete resources that match the template, listed by `resources/list`. */
  list?: (context: McpContext) => Resource[] | Promise<Resource[]>;
  /** Templates only: completions for the template's variables, by variable name. */
  complete?: Record<string, CompleteFn>;
}

/**
 * What a read handler returns: a string (text, with the resource's mimeType), bytes (a blob), a
 * list of contents, or a whole `ReadResourceResult`.
 */
export type ResourceBody = string | Uint8Array | ReadResourceResult['contents'] | ReadResourceResult;

/** `variables` holds the template's variables (empty for a static resource). */
export type ResourceHandler = (uri: URL, variables: Record<string, string | string[]>, context: McpContext) => ResourceBody | Promise<ResourceBody>;

export interface ResourceDefinition {
  /** The URI, or the URI template. */
  uri: string;
  template: boolean;
  listing: Resource | ResourceTemplateType;
  handler: ResourceHandler;
  options: ResourceOptions;
}

const TEMPLATE_EXPRESSION = /\{[^}]+\}/;

export function resourceDefinition(uri: string, handler: ResourceHandler, options: ResourceOptions, serviceName: string): ResourceDefinition {
  if (typeof uri !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri)) {
    throw new DefinitionError(`Resource "${String(uri)}" of ${serviceName} needs an absolute URI with a scheme, such as "notes://today" or "notes://{id}".`);
  }
  if (typeof handler !== 'function') {
    throw new DefinitionError(`addResource("${uri}") needs a read handler function; got ${typeof handler}.`);
  }
  const template = TEMPLATE_EXPRESSION.test(uri);
  if (!template && (options.list || options.complete)) {
    throw new DefinitionError(`addResource("${uri}"): "list" and "complete" apply to URI templates (with {variables}) only.`);
  }
  const common = {
    name: options.name ?? uri,
    ...(options.title ? { title: options.title } : {}),
    ...(options.description ? { description: options.description } : {}),
    ...(options.mimeType ? { mimeType: options.mimeType } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const listing = template ? { uriTemplate: uri, ...common } : { uri, ...common, ...(options.size === undefined ? {} : { size: options.size }) };
  return { uri, template, listing, handler, options };
}

/** A read handler's return value as `resources/read` contents. */
export function readResult(uri: URL, body: ResourceBody, mimeType: string | undefined): ReadResourceResult {
  const href = uri.href;
  if (typeof body === 'string') return { contents: [{ uri: href, text: body, ...(mimeType ? { mimeType } : {}) }] };
  if (body instanceof Uint8Array) {
    return { contents: [{ uri: href, blob: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'), ...(mimeType ? { mimeType } : {}) }] };
  }
  if (Array.isArray(body)) return { contents: body };
  if (body && typeof body === 'object' && Array.isArray((body as ReadResourceResult).contents)) return body as ReadResourceResult;
  throw new TypeError(`The read handler of ${href} returned ${typeof body}; return a string, bytes, a list of contents or { contents }.`);
}
