// examples/gateway runs as documented: two launched services behind a launched gateway, reached
// over HTTP, through the typed client and through the gateway's one MCP endpoint; nothing is left
// behind.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'taskmesh-gateway-example-'));
const env = { ...process.env, TASKMESH_LOG_DIR: join(dir, 'logs'), TASKMESH_PID_DIR: join(dir, 'pids'), TASKMESH_ADMIN_TOKEN: '' };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('examples/gateway/main.ts reaches both services three ways and stops everything', async () => {
  const { stdout } = await run(process.execPath, ['examples/gateway/main.ts'], { env, timeout: 90_000 });
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^gateway at http:\/\/127\.0\.0\.1:\d+$/);
  expect(lines.slice(1)).toEqual([
    'apps: echoer, greeter',
    "http   { echoed: 'over plain HTTP' }",
    "typed  { echoed: 'through the typed client' }",
    "typed  { greeting: 'Bonjour, Ada!' }",
    "any    { greeting: 'Hello, Grace!' }",
    'mcp tools: echoer_echo, greeter_greet',
    "mcp    { greeting: 'Hola, Linus!' }",
  ]);
  // Every launched process removed its pid file on the way out.
  expect(readdirSync(join(dir, 'pids'))).toEqual([]);
});
