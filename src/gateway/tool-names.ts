/**
 * Names of federated MCP tools and prompts: `<app>_<name>`, kept within `^[A-Za-z0-9_-]{1,64}$`.
 *
 * - Any character outside `A-Z a-z 0-9 _ -` (a tool name may have dots) becomes `_`.
 * - A name longer than 64 characters is cut to 64.
 * - Collisions (`a_b` + `c` and `a` + `b_c` both give `a_b_c`; two long names cut alike; a name
 *   the gateway's own tools use) are resolved by sorting every (app, tool) pair by app name, then
 *   tool name: the first pair keeps the name, the next ones get `_2`, `_3`, ... (cut so that the
 *   whole stays within 64 characters). The result depends only on the set of apps and tools,
 *   never on the order they were registered in, so every gateway replica names them alike.
 */
export const FEDERATED_NAME_MAX = 64;

export interface ToolOrigin {
  app: string;
  tool: string;
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, FEDERATED_NAME_MAX);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Federated name -> origin for every tool of every app. `taken` holds names in use otherwise
 * (the gateway's own tools), which no federated tool gets.
 */
export function federatedToolNames(tools: Iterable<ToolOrigin>, taken: ReadonlySet<string> = new Set()): Map<string, ToolOrigin> {
  const sorted = [...tools].sort((x, y) => compare(x.app, y.app) || compare(x.tool, y.tool));
  const names = new Map<string, ToolOrigin>();
  for (const origin of sorted) {
    const base = sanitize(`${origin.app}_${origin.tool}`);
    let name = base;
    for (let n = 2; names.has(name) || taken.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, FEDERATED_NAME_MAX - suffix.length)}${suffix}`;
    }
    names.set(name, origin);
  }
  return names;
}
