// The client entry (`taskmesh/client`) must not pull in the server stack: walk its static imports.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  // `import ... from 'x'` and `export ... from 'x'`, but not `import type` (erased at run time).
  const pattern = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm;
  return [...source.matchAll(pattern)].map((m) => m[1]!);
}

it('the client entry reaches no server module and no server package', () => {
  const entry = resolve(dirname(fileURLToPath(import.meta.url)), 'index.ts');
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else packages.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  expect([...seen].filter((f) => /\/src\/(service|launch)\/|\/src\/gateway\/gateway\.ts$/.test(f))).toEqual([]);
  const serverPackages = [...packages].filter((p) => /^(fastify|@fastify\/|@modelcontextprotocol\/(server|node)$)/.test(p));
  expect(serverPackages).toEqual([]);
});
