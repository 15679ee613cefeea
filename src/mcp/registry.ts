/**
 * The MCP surface of one service: its tools, resources and prompts. Definitions are checked when
 * they are added; the listings are built once and rebuilt only after a change, so `tools/list`
 * and every `tools/call` read prepared data. A change while the service runs is reported to the
 * listener, which tells connected clients (`notifications/*\/list_changed`).
 */
import { DefinitionError } from '../errors.ts';
import type { Schema } from '../task.ts';
import type { Endpoint } from '../service/endpoint.ts';
import type { McpContext } from './context.ts';
import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/server';
import { endpointTool, mcpOnlyTool, type ToolDefinition, type ToolHandler, type ToolOptions } from './tool.ts';
import { resourceDefinition, type ResourceDefinition, type ResourceHandler, type ResourceOptions } from './resource.ts';
import { promptDefinition, type PromptDefinition, type PromptHandler, type PromptOptions } from './prompt.ts';

export type McpListKind = 'tools' | 'resources' | 'prompts';

export class McpRegistry {
  readonly serviceName: string;
  /** Called after every change; the serving side turns it into list_changed notifications. */
  onChange: ((kind: McpListKind) => void) | undefined;
  readonly #tools = new Map<string, ToolDefinition>();
  readonly #resources = new Map<string, ResourceDefinition>();
  readonly #templates = new Map<string, ResourceDefinition>();
  readonly #prompts = new Map<string, PromptDefinition>();
  #toolListing: Tool[] | undefined;
  #resourceListing: Resource[] | undefined;
  #templateListing: ResourceTemplateType[] | undefined;
  #promptListing: Prompt[] | undefined;

  constructor(serviceName: string) {
    this.serviceName = serviceName;
  }

  addEndpointTool(endpoint: Endpoint): void {
    this.#addTool(endpointTool(endpoint, this.serviceName));
  }

  addTool<I extends Schema | undefined, O extends Schema | undefined>(name: string, handler: ToolHandler<I, O>, options: ToolOptions<I, O> = {}): void {
    this.#addTool(mcpOnlyTool(name, handler as (input: unknown, context: McpContext) => unknown, options, this.serviceName));
  }

  /** Add a tool from a prepared definition: one whose listing and calls come from elsewhere (a gateway's federated tools). */
  addToolDefinition(tool: ToolDefinition): void {
    this.#addTool(tool);
  }

  #addTool(tool: ToolDefinition): void {
    const existing = this.#tools.get(tool.name);
    if (existing) {
      throw new DefinitionError(
        existing.source === 'endpoint'
          ? `${this.serviceName} already has a tool "${tool.name}" (its endpoint "${existing.endpoint.path}" is a tool); choose another name.`
          : `${this.serviceName} already has a tool "${tool.name}"; remove it first with removeTool("${tool.name}").`,
      );
    }
    this.#tools.set(tool.name, tool);
    this.#changed('tools');
  }

  /** Remove a tool (an MCP-only one, or hide an endpoint's tool; the HTTP endpoint stays). False when there is none. */
  removeTool(name: string): boolean {
    const removed = this.#tools.delete(name);
    if (removed) this.#changed('tools');
    return removed;
  }

  addResource(uri: string, handler: ResourceHandler, options: ResourceOptions = {}): void {
    const resource = resourceDefinition(uri, handler, options, this.serviceName);
    const map = resource.template ? this.#templates : this.#resources;
    if (map.has(uri)) throw new DefinitionError(`${this.serviceName} already has a resource "${uri}"; remove it first with removeResource("${uri}").`);
    map.set(uri, resource);
    this.#changed('resources');
  }

  /** Remove a resource by its URI (or URI template). False when there is none. */
  removeResource(uri: string): boolean {
    const removed = this.#resources.delete(uri) || this.#templates.delete(uri);
    if (removed) this.#changed('resources');
    return removed;
  }

  addPrompt<A extends Schema | undefined>(name: string, handler: PromptHandler<A>, options: PromptOptions<A> = {}): void {
    this.addPromptDefinition(promptDefinition(name, handler as PromptDefinition['handler'], options, this.serviceName));
  }

  /** A prompt made elsewhere (a gateway's federated prompt): checked as `addPrompt`'s are. */
  addPromptDefinition(prompt: PromptDefinition): void {
    if (this.#prompts.has(prompt.name)) throw new DefinitionError(`${this.serviceName} already has a prompt "${prompt.name}"; remove it first with removePrompt("${prompt.name}").`);
    this.#prompts.set(prompt.name, prompt);
    this.#changed('prompts');
  }

  removePrompt(name: string): boolean {
    const removed = this.#prompts.delete(name);
    if (removed) this.#changed('prompts');
    return removed;
  }

  tool(name: string): ToolDefinition | undefined {
    return this.#tools.get(name);
  }

  prompt(name: string): PromptDefinition | undefined {
    return this.#prompts.get(name);
  }

  staticResource(uri: string): ResourceDefinition | undefined {
    return this.#resources.get(uri);
  }

  templates(): Iterable<ResourceDefinition> {
    return this.#templates.values();
  }

  toolListing(): Tool[] {
    return (this.#toolListing ??= [...this.#tools.values()].map((t) => t.listing));
  }

  resourceListing(): Resource[] {
    return (this.#resourceListing ??= [...this.#resources.values()].map((r) => r.listing as Resource));
  }

  templateListing(): ResourceTemplateType[] {
    return (this.#templateListing ??= [...this.#templates.values()].map((r) => r.listing as ResourceTemplateType));
  }

  promptListing(): Prompt[] {
    return (this.#promptListing ??= [...this.#prompts.values()].map((p) => p.listing));
  }

  get counts(): { tools: number; resources: number; prompts: number } {
    return { tools: this.#tools.size, resources: this.#resources.size + this.#templates.size, prompts: this.#prompts.size };
  }

  #changed(kind: McpListKind): void {
    if (kind === 'tools') this.#toolListing = undefined;
    else if (kind === 'prompts') this.#promptListing = undefined;
    else {
      this.#resourceListing = undefined;
      this.#templateListing = undefined;
    }
    this.onChange?.(kind);
  }
}
