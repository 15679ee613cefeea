/**
 * The MCP part of every Service (Service extends it): the class's MCP clients (`Service.mcp`), and
 * an instance's tools, resources and prompts. Kept apart from Service so that each stays small.
 */
import type { Schema } from '../task.ts';
import { mcpHelpers, type McpClassHelpers } from './helpers.ts';
import { McpHost } from './host.ts';
import type { PromptHandler, PromptOptions } from './prompt.ts';
import type { ResourceHandler, ResourceOptions } from './resource.ts';
import type { ToolHandler, ToolOptions } from './tool.ts';

export abstract class McpSurface {
  /** MCP clients of this service: `mcp.connect(url?)` and `mcp.launch(options)` give a connected SDK Client. */
  static get mcp(): McpClassHelpers {
    return mcpHelpers(this as unknown as Parameters<typeof mcpHelpers>[0]);
  }

  readonly #mcp: McpHost;

  constructor() {
    this.#mcp = new McpHost(new.target.name);
  }

  /** The MCP side of the service: its registry of tools, resources and prompts, `sessionCount`, `notifyResourceUpdated(uri)`. */
  get mcp(): McpHost {
    return this.#mcp;
  }

  /** Add an MCP-only tool, in the constructor or while the service runs (connected clients then get list_changed). */
  addTool<I extends Schema | undefined = undefined, O extends Schema | undefined = undefined>(name: string, handler: ToolHandler<I, O>, options: ToolOptions<I, O> = {}): void {
    this.#mcp.registry.addTool(name, handler.bind(this) as ToolHandler<I, O>, options);
  }

  /** Remove a tool; false when there is none by that name. */
  removeTool(name: string): boolean {
    return this.#mcp.registry.removeTool(name);
  }

  /** Add a resource: a fixed URI (`notes://today`) or a URI template (`notes://{id}`). */
  addResource(uri: string, handler: ResourceHandler, options: ResourceOptions = {}): void {
    this.#mcp.registry.addResource(uri, handler.bind(this), options);
  }

  removeResource(uri: string): boolean {
    return this.#mcp.registry.removeResource(uri);
  }

  /** Add a prompt, with string arguments given as a z.object. */
  addPrompt<A extends Schema | undefined = undefined>(name: string, handler: PromptHandler<A>, options: PromptOptions<A> = {}): void {
    this.#mcp.registry.addPrompt(name, handler.bind(this) as PromptHandler<A>, options);
  }

  removePrompt(name: string): boolean {
    return this.#mcp.registry.removePrompt(name);
  }
}
