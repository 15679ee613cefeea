// Start-up cost is a feature: `import 'taskmesh'` in a service loads the server stack and nothing a
// plain service does not use; the client entry loads no server code at all. Heavier packages load
// on first use (src/lazy.ts and dynamic imports). Checked in a fresh process, as Node really loads them.
import { expect, it } from 'vitest';
import { loadedModules } from '../helpers/loaded-modules.ts';

it('importing taskmesh loads neither the HTTP client, nor the MCP SDK, nor the docs or YAML packages', () => {
  const { packages } = loadedModules(new URL('../../src/index.ts', import.meta.url).href);
  expect(packages).toContain('fastify');
  expect(packages).toContain('zod');
  expect(packages.filter((p) => /^(undici|yaml|@modelcontextprotocol\/.*|@fastify\/(swagger|swagger-ui|cors|static))$/.test(p))).toEqual([]);
});

it('the client entry (taskmesh/client) loads no server module and no server package', () => {
  const { packages, files } = loadedModules(new URL('../../src/client/index.ts', import.meta.url).href);
  expect(files.filter((f) => /\/src\/(service|launch|mcp)\/|\/src\/gateway\/gateway\.ts$/.test(f))).toEqual([]);
  expect(packages.filter((p) => /^(fastify|@fastify\/.*|@modelcontextprotocol\/(server|node))$/.test(p))).toEqual([]);
  expect(files.some((f) => f.endsWith('/src/client/connection-manager.ts'))).toBe(true);
});
