/**
 * The SDK `Server` of a service. Its request handlers are made once per service and read the
 * registry at call time, so a server costs a constructor and a few map inserts: cheap enough for
 * the 2026-07-28 path, which builds one per request, and shared by the 2025-era sessions, the
 * stateless path and stdio alike.
 */
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server, UriTemplate, UrlElicitationRequiredError, isCallToolResult } from '@modelcontextprotocol/server';
import type { CallToolResult, CompleteResult, Implementation, ServerCapabilities, ServerContext, ServerEvent } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { ErrorCodes, InvalidInputError, formatIssues } from '../errors.ts';
import { ServerStatus } from '../protocol.ts';
import { invokeEndpoint, type RequestContext } from '../service/endpoint.ts';
import { toIssues } from '../task.ts';
import { currentCallOrigin, mcpContext } from './context.ts';
import { promptResult } from './prompt.ts';
import type { McpRegistry } from './registry.ts';
import { readResult, type CompleteFn, type ResourceDefinition } from './resource.ts';
import type { ToolDefinition } from './tool.ts';

export const CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
};

export interface McpServerSpec {
  registry: McpRegistry;
  info: Implementation;
  instructions?: string | undefined;
  status: () => ServerStatus;
  /** Logger for calls that arrive without a transport's request logger (stdio). */
  log: RequestContext['log'];
  /** The resource URIs a 2025-era session subscribed to (resources/subscribe); undefined outside a session. */
  subscriptions: (sessionId: string | undefined) => Set<string> | undefined;
}

/** One AJV instance for every server of the process: building one per server would cost more than the server. */
const jsonSchemaValidator = new AjvJsonSchemaValidator();

type Handlers = ReturnType<typeof makeHandlers>;
const handlersBySpec = new WeakMap<McpServerSpec, Handlers>();

/** The request handlers of a spec's servers, made once per spec. */
export function handlersFor(spec: McpServerSpec): Handlers {
  let handlers = handlersBySpec.get(spec);
  if (!handlers) handlersBySpec.set(spec, (handlers = makeHandlers(spec)));
  return handlers;
}

export function createMcpServer(spec: McpServerSpec): Server {
  const handlers = handlersFor(spec);
  const server = new Server(spec.info, { capabilities: CAPABILITIES, jsonSchemaValidator, ...(spec.instructions ? { instructions: spec.instructions } : {}) });
  server.setRequestHandler('tools/list', handlers.listTools);
  server.setRequestHandler('tools/call', handlers.callTool);
  server.setRequestHandler('resources/list', handlers.listResources);
  server.setRequestHandler('resources/templates/list', handlers.listTemplates);
  server.setRequestHandler('resources/read', handlers.readResource);
  server.setRequestHandler('resources/subscribe', handlers.subscribe);
  server.setRequestHandler('resources/unsubscribe', handlers.unsubscribe);
  server.setRequestHandler('prompts/list', handlers.listPrompts);
  server.setRequestHandler('prompts/get', handlers.getPrompt);
  server.setRequestHandler('completion/complete', handlers.complete);
  return server;
}

/**
 * Send a change event to the client of a connection-bound server (a 2025-era session, stdio): list
 * changes always, a resource update only when the client subscribed to that resource.
 */
export function notifyServer(server: Server, event: ServerEvent, subscriptions: ReadonlySet<string>): Promise<void> | undefined {
  switch (event.kind) {
    case 'tools_list_changed':
      return server.sendToolListChanged();
    case 'prompts_list_changed':
      return server.sendPromptListChanged();
    case 'resources_list_changed':
      return server.sendResourceListChanged();
    case 'resource_updated':
      return subscriptions.has(event.uri) ? server.sendResourceUpdated({ uri: event.uri }) : undefined;
  }
}

const templateMatchers = new WeakMap<ResourceDefinition, UriTemplate>();

function matchTemplate(resource: ResourceDefinition, uri: string): Record<string, string | string[]> | null {
  let matcher = templateMatchers.get(resource);
  if (!matcher) templateMatchers.set(resource, (matcher = new UriTemplate(resource.uri)));
  return matcher.match(uri);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function invalidParams(message: string, issues?: { path: (string | number)[]; message: string }[]): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, message, { code: ErrorCodes.INVALID_INPUT, ...(issues ? { issues } : {}) });
}

function toolResult(tool: ToolDefinition, output: unknown): CallToolResult {
  if (tool.hasOutput) {
    return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: (tool.wrapOutput ? { result: output } : output) as Record<string, unknown> };
  }
  if (output === undefined || output === null) return { content: [] };
  if (typeof output === 'string') return { content: [{ type: 'text', text: output }] };
  if (isCallToolResult(output)) return output;
  const text = { type: 'text' as const, text: JSON.stringify(output) };
  return typeof output === 'object' && !Array.isArray(output) ? { content: [text], structuredContent: output as Record<string, unknown> } : { content: [text] };
}

/**
 * A tool's arguments, flat. The reference framework's clients wrap them as `{ payload: {...} }`;
 * such a call is taken as its payload when the tool's input has no `payload` field of its own.
 */
function flatArguments(tool: ToolDefinition, args: Record<string, unknown>): unknown {
  if (tool.hasPayloadField) return args;
  const { payload } = args;
  const wrapped = typeof payload === 'object' && payload !== null && !Array.isArray(payload) && Object.keys(args).length === 1;
  return wrapped ? payload : args;
}

function makeHandlers(spec: McpServerSpec) {
  const { registry } = spec;

  const callTool = async (request: { params: { name: string; arguments?: Record<string, unknown> | undefined } }, sdk: ServerContext): Promise<CallToolResult> => {
    const { name } = request.params;
    const tool = registry.tool(name);
    if (!tool) {
      const known = registry.toolListing().map((t) => t.name);
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool "${name}": ${registry.serviceName} has ${known.join(', ') || 'no tools'}; tools/list describes them.`, {
        code: ErrorCodes.NOT_FOUND,
      });
    }
    const context = mcpContext(sdk, spec.log);
    const refusal = refuse(tool);
    if (refusal) return { content: [{ type: 'text', text: refusal }], isError: true };
    try {
      return toolResult(tool, await invokeEndpoint(tool.endpoint, flatArguments(tool, request.params.arguments ?? {}), context));
    } catch (error) {
      // invokeEndpoint's own check of the arguments carries this call's request id; an InvalidInputError from inside the handler does not.
      if (error instanceof InvalidInputError && error.requestId === context.requestId) {
        throw invalidParams(`Invalid arguments for tool "${name}": ${formatIssues(error.issues ?? [])}`, error.issues);
      }
      // The one protocol error a handler raises on purpose: the client must open a URL first (2025-era elicitation).
      if (error instanceof UrlElicitationRequiredError) throw error;
      context.log.error({ err: error, tool: name }, `tool ${name} failed: ${messageOf(error)}`);
      return { content: [{ type: 'text', text: messageOf(error) || `Tool "${name}" failed.` }], isError: true };
    }
  };

  /** The HTTP rules, for tools: endpoint tools only while Available, admin tools only for admin callers. */
  const refuse = (tool: ToolDefinition): string | undefined => {
    const status = spec.status();
    if (tool.source === 'endpoint' && !tool.endpoint.builtin && status !== ServerStatus.Available) {
      return status === ServerStatus.Launching ? `${registry.serviceName} is still starting; retry shortly.` : `${registry.serviceName} is ${status} and takes no new calls.`;
    }
    if (tool.endpoint.scope === 'admin' && !currentCallOrigin(spec.log).isAdmin()) {
      return `"${tool.name}" is an admin tool: send the service's admin token as 'Authorization: Bearer <token>' with the MCP requests.`;
    }
    return undefined;
  };

  const findResource = (uri: string): { resource: ResourceDefinition; variables: Record<string, string | string[]> } | undefined => {
    const exact = registry.staticResource(uri);
    if (exact) return { resource: exact, variables: {} };
    for (const resource of registry.templates()) {
      const variables = matchTemplate(resource, uri);
      if (variables) return { resource, variables };
    }
    return undefined;
  };

  const readResource = async (request: { params: { uri: string } }, sdk: ServerContext) => {
    const { uri } = request.params;
    const found = findResource(uri);
    if (!found) throw new ResourceNotFoundError(uri, `No resource ${uri} at ${registry.serviceName}; resources/list and resources/templates/list show what there is.`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw invalidParams(`"${uri}" is not a valid URI.`);
    }
    const body = await found.resource.handler(url, found.variables, mcpContext(sdk, spec.log));
    return readResult(url, body, found.resource.options.mimeType);
  };

  const listResources = async (_request: unknown, sdk: ServerContext) => {
    const listed = [...registry.resourceListing()];
    for (const template of registry.templates()) {
      if (template.options.list) listed.push(...(await template.options.list(mcpContext(sdk, spec.log))));
    }
    return { resources: listed };
  };

  const getPrompt = async (request: { params: { name: string; arguments?: Record<string, string> | undefined } }, sdk: ServerContext) => {
    const { name } = request.params;
    const prompt = registry.prompt(name);
    if (!prompt) {
      throw invalidParams(`Unknown prompt "${name}": ${registry.serviceName} has ${registry.promptListing().map((p) => p.name).join(', ') || 'no prompts'}.`);
    }
    let args: unknown = undefined;
    if (prompt.task.input) {
      const parsed = prompt.task.input.safeParse(request.params.arguments ?? {});
      if (!parsed.success) {
        const issues = toIssues(parsed.error);
        throw invalidParams(`Invalid arguments for prompt "${name}": ${formatIssues(issues)}`, issues);
      }
      args = parsed.data;
    }
    return promptResult(name, await prompt.handler(args, mcpContext(sdk, spec.log)), prompt.options.description);
  };

  const complete = async (request: {
    params: { ref: { type: string; name?: string; uri?: string }; argument: { name: string; value: string }; context?: { arguments?: Record<string, string> } | undefined };
  }): Promise<CompleteResult> => {
    const { ref, argument } = request.params;
    let completer: CompleteFn | undefined;
    if (ref.type === 'ref/prompt') completer = registry.prompt(ref.name ?? '')?.options.complete?.[argument.name];
    else if (ref.type === 'ref/resource') {
      for (const template of registry.templates()) if (template.uri === ref.uri) completer = template.options.complete?.[argument.name];
    }
    const values = completer ? await completer(argument.value, { arguments: request.params.context?.arguments ?? {} }) : [];
    // The protocol caps one answer at 100 values.
    return { completion: { values: values.slice(0, 100), total: values.length, hasMore: values.length > 100 } };
  };

  const subscription = (subscribe: boolean) => async (request: { params: { uri: string } }, sdk: ServerContext) => {
    const set = spec.subscriptions(sdk.sessionId);
    if (subscribe) set?.add(request.params.uri);
    else set?.delete(request.params.uri);
    return {};
  };

  return {
    listTools: () => ({ tools: registry.toolListing() }),
    callTool,
    listResources,
    listTemplates: () => ({ resourceTemplates: registry.templateListing() }),
    readResource,
    subscribe: subscription(true),
    unsubscribe: subscription(false),
    listPrompts: () => ({ prompts: registry.promptListing() }),
    getPrompt,
    complete,
  };
}
