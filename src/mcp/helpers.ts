/**
 * `EchoService.mcp`: MCP clients of a service class. The client SDK is loaded on first use, so a
 * service that never calls another over MCP does not load it.
 */
import type { Client } from '@modelcontextprotocol/client';
import { DefinitionError } from '../errors.ts';
import type { LaunchOptions } from '../launch/options.ts';
import type { McpConnectOptions } from './client.ts';

/** The parts of a service class the helpers use. */
interface ServiceClassLike {
  defaultUrl(): string;
  name: string;
  launch?(options?: object): Promise<unknown>;
}

export interface McpClassHelpers {
  /** A connected SDK Client of the service at `url` (its base URL; the class's default URL when absent). */
  connect(url?: string, options?: McpConnectOptions): Promise<Client>;
  /**
   * Launch the service in its own process (as `launch()` does, with the same options) and return a
   * connected SDK Client; closing the client shuts the service down (unless it was launched detached).
   */
  launch(options?: LaunchOptions & Record<string, unknown> & { mcpClient?: McpConnectOptions }): Promise<Client>;
}

export function mcpHelpers(service: ServiceClassLike): McpClassHelpers {
  return {
    async connect(url, options) {
      const { connectMcp } = await import('./client.ts');
      return connectMcp(url ?? service.defaultUrl(), options);
    },
    async launch(options = {}) {
      const { mcpClient, ...launchOptions } = options;
      if (!service.launch) throw new DefinitionError(`${service.name} cannot be launched: it has no launch().`);
      const manager = (await service.launch(launchOptions)) as { url: string; close(): Promise<void> };
      const { connectMcp } = await import('./client.ts');
      let client: Client;
      try {
        client = await connectMcp(manager.url, mcpClient);
      } catch (error) {
        await manager.close().catch(() => {});
        throw error;
      }
      const closeClient = client.close.bind(client);
      // The launched process lives as long as its client: closing the client stops it.
      client.close = async () => {
        try {
          await closeClient();
        } finally {
          await manager.close();
        }
      };
      return client;
    },
  };
}
