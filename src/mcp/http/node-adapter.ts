/**
 * The SDK's Node adapter (`@modelcontextprotocol/node`), loaded on first use. It brings a web
 * server adapter with it (about 3 MB of a process's memory), and only the less common requests
 * need it: 2025-era sessions, 2026-07-28 requests other than a plain `tools/call`, and batches.
 * A service that serves none of those, the stateless load of a benchmark say, never loads it.
 */
type NodeAdapter = typeof import('@modelcontextprotocol/node');

let adapter: Promise<NodeAdapter> | undefined;

export function nodeAdapter(): Promise<NodeAdapter> {
  return (adapter ??= import('@modelcontextprotocol/node'));
}
