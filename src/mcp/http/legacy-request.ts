/** Telling the common 2025-era messages from the rest cheaply, for the paths that answer them directly. */
import type { IncomingHttpHeaders } from 'node:http';
import { PROTOCOL_VERSION_META_KEY, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/server';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One JSON-RPC request, not `initialize`, with no 2026-07-28 envelope claim and no modern
 * MCP-Protocol-Version header. The SDK's classifier gives such a request the same answer (legacy,
 * no claim) but checks the body with several schemas first, which would cost more than serving the
 * call; anything else still goes through it.
 */
export function plainLegacyRequest(body: unknown, versionHeader: IncomingHttpHeaders[string]): body is JSONRPCRequest {
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string' || body.method === 'initialize') return false;
  if ((typeof body.id !== 'string' && typeof body.id !== 'number') || 'result' in body || 'error' in body) return false;
  if (versionHeader !== undefined && (typeof versionHeader !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(versionHeader.trim()))) return false;
  if (body.params === undefined) return true;
  if (!isPlainObject(body.params)) return false;
  const meta = body.params._meta;
  return meta === undefined || (isPlainObject(meta) && !(PROTOCOL_VERSION_META_KEY in meta));
}

/**
 * One well-formed JSON-RPC notification, or response (a client's answer to a request of the
 * server): what a session takes without the SDK's schema checks of every message.
 */
export function plainNotificationOrResponse(body: unknown): body is JSONRPCMessage {
  if (!isPlainObject(body) || body.jsonrpc !== '2.0') return false;
  if (typeof body.method === 'string') return !('id' in body) && (body.params === undefined || isPlainObject(body.params));
  if ((typeof body.id !== 'string' && typeof body.id !== 'number') || 'method' in body) return false;
  if ('result' in body) return !('error' in body) && isPlainObject(body.result);
  const { error } = body;
  return isPlainObject(error) && Number.isInteger(error.code) && typeof error.message === 'string';
}

/**
 * A `tools/call` the direct paths serve (stateless and in a session): a tool name, object
 * arguments, and no progress token or envelope.
 */
export function directToolCall(message: JSONRPCRequest): { name: string; arguments?: Record<string, unknown> } | undefined {
  if (message.method !== 'tools/call') return undefined;
  const params = message.params as { name?: unknown; arguments?: unknown; _meta?: unknown } | undefined;
  if (typeof params?.name !== 'string') return undefined;
  const args = params.arguments;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  const meta = params._meta;
  if (meta !== undefined && (!isPlainObject(meta) || Object.keys(meta).length > 0)) return undefined;
  return params as { name: string; arguments?: Record<string, unknown> };
}
