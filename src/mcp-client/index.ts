/** MCP client building blocks: one connection per MCP server, shared by the gateway's federation and the MCP hub. */
export { McpConnection, networkErrorCode, type CallPolicy, type McpConnectionOptions, type McpConnectionState } from './connection.ts';
