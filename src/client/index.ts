/** The client side alone, for code that calls services and must not pull in the server stack. */
export { connect, statusAtHost, type ConnectOptions } from './connect.ts';
export {
  ConnectionManager,
  type CallOptions,
  type Client,
  type ClientInit,
  type ConnectionManagerClass,
  type ContractMethods,
  type DynamicClient,
  type EndpointMethod,
} from './connection-manager.ts';
export { task, contract, taskJsonSchema, type Task, type Contract, type TaskInput, type TaskOutput } from '../task.ts';
export * from '../errors.ts';
export { ServerStatus, type Heartbeat, type EndpointDetail } from '../protocol.ts';
export { GatewayClient, type AppHandle, type RegisterAppInput } from '../gateway/client.ts';
export { ProxyConnectionManager, type ProxyClient } from '../gateway/proxy-connection-manager.ts';
export { GatewayContract, type AppInfo, type AppHealth } from '../gateway/contract.ts';
