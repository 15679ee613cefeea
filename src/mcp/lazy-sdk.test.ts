// A service loads the MCP SDK only after it serves (or on the first MCP request), so that the SDK
// (a fifth of a second to import) does not delay the start: walk the static imports of Service.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

function staticImports(file: string): string[] {
  // `import ... from 'x'` and `export ... from 'x'`, but not `import type` (erased at run time) nor `import('x')`.
  const pattern = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm;
  return [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => m[1]!);
}

it('Service reaches no MCP SDK package through static imports', () => {
  const queue = [resolve(dirname(fileURLToPath(import.meta.url)), '../service/service.ts')];
  const seen = new Set<string>();
  const packages = new Set<string>();
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  }
  expect([...seen].some((f) => f.endsWith('/mcp/host.ts'))).toBe(true);
  expect([...packages].filter((p) => p.startsWith('@modelcontextprotocol/'))).toEqual([]);
});
