// Start-up cost is a feature: `import 'taskmesh'` in a service loads the server stack and nothing a
// plain service does not use. Heavier packages load on first use (src/lazy.ts and dynamic imports).
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';

const tracer = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) {
  const r = next(spec, ctx);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url);
  if (m) seen.add(m[1]);
  return r;
} });
await import(process.argv[1]);
console.log(JSON.stringify([...seen]));
`;

function packagesLoadedBy(module: string): string[] {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', tracer, module], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

it('importing taskmesh loads neither the HTTP client, nor the MCP SDK, nor the docs or YAML packages', () => {
  const loaded = packagesLoadedBy(new URL('../../src/index.ts', import.meta.url).href);
  expect(loaded).toContain('fastify');
  expect(loaded).toContain('zod');
  const deferred = loaded.filter((p) => /^(undici|yaml|@modelcontextprotocol\/.*|@fastify\/(swagger|swagger-ui|cors|static))$/.test(p));
  expect(deferred).toEqual([]);
});
