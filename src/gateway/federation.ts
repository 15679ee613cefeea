/**
 * MCP federation: the gateway's own MCP endpoint lists every registered app's tools and prompts
 * as `<app>_<name>` (see tool-names.ts) and forwards their calls and gets to the app's MCP
 * endpoint, through one McpConnection per app. Registering, replacing or removing an app, an app
 * restarting, and an app's own list changes all update the gateway's lists; each change reaches
 * the gateway's connected clients as notifications/tools/list_changed (or prompts/list_changed).
 *
 * Forwarded calls carry no credentials: an app's admin-scoped tools refuse them, so the gateway
 * never lends its admin token to its MCP callers.
 */
import type { CallToolResult, GetPromptResult, Prompt, Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { McpConnection } from '../mcp-client/connection.ts';
import { mcpUrl } from '../config.ts';
import type { McpContext } from '../mcp/context.ts';
import type { PromptDefinition } from '../mcp/prompt.ts';
import type { McpRegistry } from '../mcp/registry.ts';
import type { ToolDefinition } from '../mcp/tool.ts';
import type { Endpoint, RequestContext } from '../service/endpoint.ts';
import type { AnyTask } from '../task.ts';
import type { AppRegistry, RegistryChange } from './registry.ts';
import { federatedToolNames, type ToolOrigin } from './tool-names.ts';

export interface FederationOptions {
  /** Milliseconds a forwarded MCP request may take. */
  timeout: number;
  log: () => RequestContext['log'] | undefined;
}

/** Arguments pass through untouched: the app validates them against its own schema. */
const passThrough = z.looseObject({});

interface Published {
  origin: ToolOrigin;
  /** The app's listing as last read, to notice a changed schema or description. */
  source: string;
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * The app's own refusal of a call or a get (unknown name, invalid arguments: a JSON-RPC error),
 * for the caller, naming the app; undefined when the app could not be asked at all.
 */
async function appRefusal(app: string, error: unknown): Promise<Error | undefined> {
  const { code, message, data } = error as { code?: unknown; message?: string; data?: unknown };
  if (typeof code !== 'number') return undefined;
  // Loaded here, not at import: the gateway's module is part of `import 'taskmesh'` for every service.
  const { ProtocolError } = await import('@modelcontextprotocol/server');
  return new ProtocolError(code, `App "${app}": ${message}`, data);
}

/**
 * Sent with every request to an app: the calls come from the gateway's MCP clients, so an app on
 * the gateway's machine must not take them for its own loopback callers, to whom it grants admin
 * tools (src/service/admin.ts). Whom the gateway forwards for is not known per connection: "unknown"
 * (RFC 7239).
 */
const FORWARDED = { forwarded: 'for=unknown' };

export class McpFederation {
  readonly #apps: AppRegistry;
  readonly #tools: McpRegistry;
  readonly #options: FederationOptions;
  readonly #connections = new Map<string, McpConnection>();
  readonly #appTools = new Map<string, Tool[]>();
  readonly #appPrompts = new Map<string, Prompt[]>();
  readonly #published = new Map<string, Published>();
  readonly #publishedPrompts = new Map<string, Published>();
  readonly #unsubscribe: () => void;
  // Changes apply one at a time, so that names are computed from one consistent picture.
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(apps: AppRegistry, tools: McpRegistry, options: FederationOptions) {
    this.#apps = apps;
    this.#tools = tools;
    this.#options = options;
    this.#unsubscribe = apps.onChange((change) => this.#onChange(change));
  }

  /** Resolves once every change seen so far is reflected in the gateway's tools. */
  settled(): Promise<void> {
    return this.#queue;
  }

  /** Read the tools of every app not read yet (apps restored from a state file). */
  refreshMissing(): Promise<void> {
    for (const app of this.#apps.names()) if (!this.#appTools.has(app)) this.#enqueue(() => this.#read(app, false));
    return this.settled();
  }

  /** The federated tool names with their origin, for tests and diagnostics. */
  names(): Map<string, ToolOrigin> {
    return new Map([...this.#published].map(([name, p]) => [name, p.origin]));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    // A handshake with an app that does not answer would hold the queue: end those first. The
    // steps still queued see #closed and make no new connection; the rest close once it drains.
    await Promise.all([...this.#connections.values()].filter((c) => c.state === 'connecting').map((c) => c.close()));
    await this.#queue;
    await Promise.all([...this.#connections.values()].map((c) => c.close()));
    this.#connections.clear();
  }

  #onChange(change: RegistryChange): void {
    if (change.type === 'removed') this.#enqueue(() => this.#drop(change.name));
    else this.#enqueue(() => this.#read(change.name, change.type === 'registered'));
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(() => (this.#closed ? undefined : step())).catch((error: unknown) => {
      this.#options.log()?.error({ err: error }, `MCP federation failed to update: ${(error as Error).message}`);
    });
  }

  /** Read an app's tools; a new registration starts from a fresh connection and no tools. */
  async #read(name: string, registered: boolean): Promise<void> {
    const app = this.#apps.get(name);
    if (!app) return this.#drop(name);
    let connection = this.#connections.get(name);
    const url = mcpUrl(app.url);
    if (registered || !connection || connection.url !== url) {
      await connection?.close();
      this.#appTools.delete(name);
      this.#appPrompts.delete(name);
      connection = new McpConnection({
        name,
        url,
        timeout: this.#options.timeout,
        headers: FORWARDED,
        onToolsChanged: (tools) => this.#enqueue(async () => this.#update(name, connection!, this.#appTools, tools)),
        onPromptsChanged: (prompts) => this.#enqueue(async () => this.#update(name, connection!, this.#appPrompts, prompts)),
      });
      this.#connections.set(name, connection);
    }
    try {
      this.#appTools.set(name, await connection.listTools({ refresh: true }));
      this.#appPrompts.set(name, await connection.listPrompts({ refresh: true }));
    } catch (error) {
      // Not an MCP server, or down for now: it keeps the lists it had, and is read again when it comes back.
      this.#options.log()?.warn({ app: name, err: error }, `MCP federation cannot list the tools and prompts of app "${name}": ${(error as Error).message}`);
    }
    this.#publish();
  }

  /** An app's own list changed: take it, if it still comes from the app's current connection. */
  #update<L>(name: string, connection: McpConnection, lists: Map<string, L[]>, list: L[]): void {
    if (this.#connections.get(name) !== connection) return;
    lists.set(name, list);
    this.#publish();
  }

  async #drop(name: string): Promise<void> {
    const connection = this.#connections.get(name);
    this.#connections.delete(name);
    this.#appTools.delete(name);
    this.#appPrompts.delete(name);
    this.#publish();
    await connection?.close();
  }

  /** Make the gateway's federated tools and prompts match the apps': remove what went, add what came. */
  #publish(): void {
    const registry = this.#tools;
    this.#sync(this.#appTools, this.#published, registry.toolListing(), (name) => registry.removeTool(name), (name, origin, listing) =>
      registry.addToolDefinition(this.#definition(name, origin, listing)),
    );
    this.#sync(this.#appPrompts, this.#publishedPrompts, registry.promptListing(), (name) => registry.removePrompt(name), (name, origin, listing) =>
      registry.addPromptDefinition(this.#promptDefinition(name, origin, listing)),
    );
  }

  /** One kind of list: `current` is the gateway's whole list of it, its own items and the federated ones. */
  #sync<L extends { name: string }>(
    lists: Map<string, L[]>,
    published: Map<string, Published>,
    current: { name: string }[],
    remove: (name: string) => void,
    add: (name: string, origin: ToolOrigin, listing: L) => void,
  ): void {
    const listings = new Map<string, L>();
    const origins: ToolOrigin[] = [];
    for (const [app, items] of lists) {
      for (const item of items) {
        origins.push({ app, tool: item.name });
        listings.set(`${app}\u0000${item.name}`, item);
      }
    }
    const own = new Set(current.map((item) => item.name).filter((name) => !published.has(name)));
    const wanted = federatedToolNames(origins, own);
    const sourceOf = (origin: ToolOrigin) => JSON.stringify(listings.get(`${origin.app}\u0000${origin.tool}`));

    for (const [name, previous] of published) {
      const origin = wanted.get(name);
      if (origin && origin.app === previous.origin.app && origin.tool === previous.origin.tool && sourceOf(origin) === previous.source) continue;
      remove(name);
      published.delete(name);
    }
    for (const [name, origin] of wanted) {
      if (published.has(name)) continue;
      add(name, origin, listings.get(`${origin.app}\u0000${origin.tool}`)!);
      published.set(name, { origin, source: sourceOf(origin) });
    }
  }

  #definition(name: string, origin: ToolOrigin, listing: Tool): ToolDefinition {
    const task: AnyTask = Object.freeze({ kind: 'taskmesh.task', name, description: listing.description, input: passThrough, output: undefined, scope: 'public', methods: undefined });
    const endpoint: Endpoint = {
      path: name,
      methodName: name,
      task,
      handler: (args, context) => this.#call(origin, args as Record<string, unknown>, context as McpContext),
      methods: [],
      asTool: true,
      scope: 'public',
      builtin: false,
    };
    // Arguments go to the app as they came (it unwraps a reference client's `payload` itself).
    return { name, listing: { ...listing, name }, endpoint, wrapOutput: false, hasOutput: false, source: 'tool', hasPayloadField: true };
  }

  #promptDefinition(name: string, origin: ToolOrigin, listing: Prompt): PromptDefinition {
    const task: AnyTask = Object.freeze({ kind: 'taskmesh.task', name, description: listing.description, input: passThrough, output: undefined, scope: 'public', methods: undefined });
    return {
      name,
      listing: { ...listing, name },
      task,
      handler: (args: Record<string, string>, context: McpContext) => this.#getPrompt(origin, args, context),
      options: listing.description === undefined ? {} : { description: listing.description },
    };
  }

  /** Get a prompt from its app; the app's result comes back as it is. */
  async #getPrompt(origin: ToolOrigin, args: Record<string, string>, context: McpContext): Promise<GetPromptResult> {
    const connection = this.#connections.get(origin.app);
    const { ProtocolError, ProtocolErrorCode } = await import('@modelcontextprotocol/server');
    if (!connection) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `App "${origin.app}" is no longer registered at this gateway; prompts/list shows what there is.`);
    try {
      return await connection.getPrompt(origin.tool, args, { signal: context.signal });
    } catch (error) {
      throw (await appRefusal(origin.app, error)) ?? new ProtocolError(ProtocolErrorCode.InternalError, `App "${origin.app}" could not give its prompt "${origin.tool}": ${(error as Error).message ?? String(error)}`);
    }
  }

  /** Forward one call; the app's result (its content, structured content and isError) comes back as it is. */
  async #call(origin: ToolOrigin, args: Record<string, unknown>, context: McpContext): Promise<CallToolResult> {
    const connection = this.#connections.get(origin.app);
    if (!connection) return errorResult(`App "${origin.app}" is no longer registered at this gateway; tools/list shows what there is.`);
    try {
      return await connection.callTool(origin.tool, args, { signal: context.signal });
    } catch (error) {
      const refusal = await appRefusal(origin.app, error);
      if (refusal) throw refusal;
      return errorResult(`App "${origin.app}" could not run its tool "${origin.tool}": ${(error as Error).message ?? String(error)}`);
    }
  }
}
