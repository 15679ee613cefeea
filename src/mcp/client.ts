/**
 * A connected MCP client (the official SDK's `Client`) of a taskmesh service. Imports only the
 * client SDK, so that `cm.mcpClient` can load it on first use without any server code.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { ClientCapabilities, ClientOptions, Implementation } from '@modelcontextprotocol/client';
import { ServiceUnreachableError } from '../errors.ts';
import { ADMIN_TOKEN_ENV } from '../protocol.ts';
import { mcpUrl } from '../config.ts';

export interface McpConnectOptions {
  /** The name and version the client announces; `taskmesh` by default. */
  clientInfo?: Implementation;
  /**
   * The protocol era: `'auto'` (the default) speaks 2026-07-28 with a server that does, as every
   * taskmesh service does, and 2025-era otherwise; `'legacy'` opens a 2025-era session; `{ pin }`
   * insists on one version.
   */
  protocol?: 'auto' | 'legacy' | { pin: string };
  capabilities?: ClientCapabilities;
  /** Sent as `Authorization: Bearer` (admin-scoped tools need it); defaults to TASKMESH_ADMIN_TOKEN. */
  token?: string | undefined;
  /** Headers sent with every request (credentials a `configureApp` hook of the service checks, say). */
  headers?: Record<string, string> | undefined;
  /** Any other option of the SDK's Client (listChanged handlers, timeouts, ...). */
  clientOptions?: ClientOptions;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The network failure somewhere in an error's cause chain (fetch wraps it in "fetch failed"), if any. */
function networkFailure(error: unknown): string | undefined {
  let failed: string | undefined;
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && CONNECTION_ERRORS.has(e.code)) return e.code;
    if (e instanceof TypeError && e.message === 'fetch failed') failed = String((e.cause as Error | undefined)?.message ?? 'fetch failed');
  }
  return failed;
}

/** Connect to the MCP endpoint of the service at `serviceUrl` (its base URL, not the MCP path). */
export async function connectMcp(serviceUrl: string, options: McpConnectOptions = {}): Promise<Client> {
  const url = mcpUrl(serviceUrl);
  const token = options.token ?? process.env[ADMIN_TOKEN_ENV];
  const client = new Client(options.clientInfo ?? { name: 'taskmesh', version: '1' }, {
    ...options.clientOptions,
    ...(options.capabilities ? { capabilities: options.capabilities } : {}),
    versionNegotiation: { mode: options.protocol ?? 'auto' },
  });
  const headers = { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const transport = new StreamableHTTPClientTransport(new URL(url), Object.keys(headers).length > 0 ? { requestInit: { headers } } : {});
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => {});
    const failure = networkFailure(error);
    if (failure) throw new ServiceUnreachableError(url, Object.assign(new Error(failure), { code: failure }));
    throw error;
  }
  return client;
}
