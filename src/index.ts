export { task, contract, taskJsonSchema, methodNameFor } from './task.ts';
export type {
  AnyContract,
  AnyTask,
  Contract,
  JsonSchema,
  Schema,
  Task,
  TaskHandlerResult,
  TaskInput,
  TaskJsonSchemas,
  TaskOutput,
  TaskParsedInput,
} from './task.ts';
export * from './errors.ts';
export { buildUrl, defaultUrlFor, settings, DEFAULT_URL, type Settings, type UrlParts } from './config.ts';
export { ServerStatus, builtinTasks, type Heartbeat, type EndpointDetail } from './protocol.ts';
export { Service, type ServiceOptions } from './service/service.ts';
export type { EndpointHandler, EndpointOptions, EndpointScope, HttpMethod, RequestContext } from './service/endpoint.ts';
export { connect, statusAtHost, type ConnectOptions } from './client/connect.ts';
export { launch } from './launch/launch.ts';
export type { LaunchOptions, LaunchOptionsFor, LaunchedService } from './launch/options.ts';
export type { McpContext } from './mcp/context.ts';
export type { McpHost, McpOptions } from './mcp/host.ts';
export { redisEventBus, type RedisEventBus, type RedisEventBusOptions } from './mcp/redis-events.ts';
export type { McpClassHelpers } from './mcp/helpers.ts';
export type { McpConnectOptions } from './mcp/client.ts';
export type { ToolHandler, ToolOptions } from './mcp/tool.ts';
export type { CompleteFn, ResourceBody, ResourceHandler, ResourceOptions } from './mcp/resource.ts';
export type { PromptBody, PromptHandler, PromptOptions } from './mcp/prompt.ts';
export type { StdioStreams } from './mcp/stdio.ts';
export { mcpUrl } from './config.ts';
export {
  ConnectionManager,
  type CallOptions,
  type Client,
  type ClientInit,
  type ConnectionManagerClass,
  type ContractMethods,
  type DynamicClient,
  type EndpointMethod,
} from './client/connection-manager.ts';
export { Gateway, type GatewayOptions } from './gateway/gateway.ts';
export { GatewayClient, type AppHandle, type RegisterAppInput } from './gateway/client.ts';
export { ProxyConnectionManager, type ProxyClient } from './gateway/proxy-connection-manager.ts';
export { GatewayContract, type AppInfo, type AppHealth } from './gateway/contract.ts';
