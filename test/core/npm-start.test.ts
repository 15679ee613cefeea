// The README's main job: `npm start` serves the echo sample with its docs page until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort } from '../helpers/free-port.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';

let child: ChildProcess | undefined;
/** npm's process group: npm, its shell and the script, all killed after the test whatever became of it. */
let group: number | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (group !== undefined) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // The group is gone already: nothing was left behind.
    }
    group = undefined;
  }
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

it('npm start stops the service too when npm itself is told to stop (SIGTERM, as a process manager sends it)', async () => {
  const port = await freePort();
  child = spawn('npm', ['start', '--silent'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  group = child.pid;
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 20_000;
  while (!stderr.includes('Ctrl-C stops it')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not start the sample:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const base = `http://127.0.0.1:${port}`;
  expect(await EchoService.statusAtHost(base)).toBe('Available');
  child.kill('SIGTERM');
  await once(child, 'exit');
  // npm hands the signal to the script's process; with it gone, nothing serves the port.
  const until = Date.now() + 10_000;
  while ((await EchoService.statusAtHost(base)) !== 'Down') {
    if (Date.now() > until) throw new Error('the service outlived npm: the signal did not reach it');
    await new Promise((r) => setTimeout(r, 50));
  }
});
