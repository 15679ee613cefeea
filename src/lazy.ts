/**
 * Packages that only some processes need, loaded on first use. `import 'taskmesh'` in a service
 * must not pay for the HTTP client (undici), the MCP SDK's client or the YAML parser: each costs
 * tens to hundreds of milliseconds of start-up and megabytes of memory in every launched process.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** undici, synchronously: pools are made in constructors. */
export function undici(): typeof import('undici') {
  return require('undici') as typeof import('undici');
}

/** The YAML parser, for config files that are YAML. */
export function yaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

let mcpClient: Promise<typeof import('@modelcontextprotocol/client')> | undefined;

/** The MCP SDK's client (ESM only): for code that is async where it needs it. */
export function mcpClientSdk(): Promise<typeof import('@modelcontextprotocol/client')> {
  mcpClient ??= import('@modelcontextprotocol/client');
  return mcpClient;
}
