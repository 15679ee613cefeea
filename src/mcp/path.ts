/** Where a service serves MCP: the mount path plus the app path from the settings (`/mcp-server/mcp` by default). */
import { settings } from '../config.ts';

export function mcpPath(): string {
  const { mcpMountPath, mcpAppPath } = settings();
  const joined = `/${mcpMountPath}/${mcpAppPath}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** The MCP endpoint of the service at `serviceUrl`. */
export function mcpUrl(serviceUrl: string): string {
  return `${serviceUrl.replace(/\/$/, '')}${mcpPath()}`;
}
