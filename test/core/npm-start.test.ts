// The README's main job: `npm start` serves the echo sample with its docs page until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort } from '../helpers/free-port.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

it('npm start serves the echo sample, its docs, OpenAPI and MCP endpoint, and stops on SIGINT', async () => {
  const port = await freePort();
  // The script that `npm start` runs, started directly so that the signal reaches it and not npm.
  child = spawn(process.execPath, ['examples/echo/main.ts'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 20_000;
  while (!stderr.includes('Ctrl-C stops it')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the sample did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const base = `http://127.0.0.1:${port}`;
  expect(stderr).toContain(`EchoService at ${base}`);
  expect(stderr).toContain(`MCP: ${base}/mcp-server/mcp`);

  const echo = await request(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"from the README"}' });
  expect(await echo.body.json()).toEqual({ echoed: 'from the README' });
  const docs = await request(`${base}/docs/`);
  expect(docs.statusCode).toBe(200);
  expect(await docs.body.text()).toMatch(/swagger/i);
  const openapi = await request(`${base}/openapi.json`);
  expect(((await openapi.body.json()) as { paths: object }).paths).toHaveProperty('/echo');

  const mcp = await EchoService.mcp.connect(base);
  try {
    expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('echo');
    const called = await mcp.callTool({ name: 'echo', arguments: { message: 'over MCP' } });
    expect(called.structuredContent).toEqual({ echoed: 'over MCP' });
  } finally {
    await mcp.close();
  }

  child.kill('SIGINT');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
});
