/**
 * MCP federation: the gateway's own MCP endpoint lists every registered app's tools as
 * `<app>_<tool>` (see tool-names.ts) and forwards their calls to the app's MCP endpoint, through
 * one McpConnection per app. Registering, replacing or removing an app, an app restarting, and an
 * app's own tools/list_changed all update the gateway's tools; each change reaches the gateway's
 * connected clients as notifications/tools/list_changed.
 *
 * Forwarded calls carry no credentials: an app's admin-scoped tools refuse them, so the gateway
 * never lends its admin token to its MCP callers.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { McpConnection } from '../mcp-client/connection.ts';
import { mcpUrl } from '../mcp/path.ts';
import type { McpContext } from '../mcp/context.ts';
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

export class McpFederation {
  readonly #apps: AppRegistry;
  readonly #tools: McpRegistry;
  readonly #options: FederationOptions;
  readonly #connections = new Map<string, McpConnection>();
  readonly #appTools = new Map<string, Tool[]>();
  readonly #published = new Map<string, Published>();
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
      connection = new McpConnection({
        name,
        url,
        timeout: this.#options.timeout,
        onToolsChanged: (tools) =>
          this.#enqueue(async () => {
            if (this.#connections.get(name) !== connection) return;
            this.#appTools.set(name, tools);
            this.#publish();
          }),
      });
      this.#connections.set(name, connection);
    }
    try {
      this.#appTools.set(name, await connection.listTools({ refresh: true }));
    } catch (error) {
      // Not an MCP server, or down for now: it keeps the tools it had, and is read again when it comes back.
      this.#options.log()?.warn({ app: name, err: error }, `MCP federation cannot list the tools of app "${name}": ${(error as Error).message}`);
    }
    this.#publish();
  }

  async #drop(name: string): Promise<void> {
    const connection = this.#connections.get(name);
    this.#connections.delete(name);
    this.#appTools.delete(name);
    this.#publish();
    await connection?.close();
  }

  /** Make the gateway's federated tools match the apps' tools: remove what went, add what came. */
  #publish(): void {
    const listings = new Map<string, Tool>();
    const origins: ToolOrigin[] = [];
    for (const [app, tools] of this.#appTools) {
      for (const tool of tools) {
        origins.push({ app, tool: tool.name });
        listings.set(`${app}\u0000${tool.name}`, tool);
      }
    }
    const own = new Set(this.#tools.toolListing().map((t) => t.name).filter((n) => !this.#published.has(n)));
    const wanted = federatedToolNames(origins, own);
    const sourceOf = (origin: ToolOrigin) => JSON.stringify(listings.get(`${origin.app}\u0000${origin.tool}`));

    for (const [name, published] of this.#published) {
      const origin = wanted.get(name);
      if (origin && origin.app === published.origin.app && origin.tool === published.origin.tool && sourceOf(origin) === published.source) continue;
      this.#tools.removeTool(name);
      this.#published.delete(name);
    }
    for (const [name, origin] of wanted) {
      if (this.#published.has(name)) continue;
      const listing = listings.get(`${origin.app}\u0000${origin.tool}`)!;
      this.#tools.addToolDefinition(this.#definition(name, origin, listing));
      this.#published.set(name, { origin, source: sourceOf(origin) });
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

  /** Forward one call; the app's result (its content, structured content and isError) comes back as it is. */
  async #call(origin: ToolOrigin, args: Record<string, unknown>, context: McpContext): Promise<CallToolResult> {
    const connection = this.#connections.get(origin.app);
    if (!connection) return errorResult(`App "${origin.app}" is no longer registered at this gateway; tools/list shows what there is.`);
    try {
      return await connection.callTool(origin.tool, args, { signal: context.signal });
    } catch (error) {
      const { code, message, data } = error as { code?: unknown; message?: string; data?: unknown };
      // The app refused the call (unknown tool, invalid arguments): the caller gets the app's own error.
      if (typeof code === 'number') {
        // Loaded here, not at import: the gateway's module is part of `import 'taskmesh'` for every service.
        const { ProtocolError } = await import('@modelcontextprotocol/server');
        throw new ProtocolError(code, `App "${origin.app}": ${message}`, data);
      }
      return errorResult(`App "${origin.app}" could not run its tool "${origin.tool}": ${message ?? String(error)}`);
    }
  }
}
