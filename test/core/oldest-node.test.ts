// The oldest Node the package says it runs on (package.json "engines", 22.12), which strips types
// only when asked: the checkout's CLI, which re-executes itself with the flag there, and the
// published layout (dist/) in a user's project, whose TypeScript service is launched from plain
// JavaScript (the launcher adds the flag) and answers HTTP and MCP.
// .ci/run installs that Node under node_modules/.cache/oldest-node; elsewhere these tests are
// skipped, and say how to install it.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { groupMembers, isAlive, killGroup, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);
const repo = process.cwd();
const engines = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
// ">=22.12" names 22.12.0.
const oldest = [...engines.replace(/^>=/, '').split('.'), '0', '0'].slice(0, 3).join('.');
const oldestNode = join(repo, 'node_modules', '.cache', 'oldest-node', 'node_modules', 'node', 'bin', 'node');
const installed = existsSync(oldestNode);
if (!installed) {
  console.warn(
    `Node ${oldest} tests skipped: no Node ${oldest} at ${oldestNode}. ` +
      `Install it with: npm install --prefix node_modules/.cache/oldest-node node@${oldest}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-oldest-node-'));
// Inside the repo's node_modules, so that dist/ resolves taskmesh's own dependencies as an installed package would.
const pkg = join(repo, 'node_modules', '.cache', `taskmesh-published-${process.pid}`);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.pid) killGroup(child.pid);
  rmSync(dir, { recursive: true, force: true });
  rmSync(pkg, { recursive: true, force: true });
});

describe.skipIf(!installed)(`on Node ${oldest}`, () => {
  it('runs the CLI from a checkout (type stripping switched on by the CLI itself)', async () => {
    const { stdout: version } = await run(oldestNode, ['--version']);
    expect(version.trim()).toBe(`v${oldest}`);
    const { stdout } = await run(oldestNode, [join(repo, 'bin', 'taskmesh.js'), '--help'], { timeout: 30_000 });
    expect(stdout).toMatch(/^Usage: taskmesh <command>/);
    expect(stdout).toContain('register');
  });

  it("serves a user's TypeScript service from the published package, over HTTP and MCP", { timeout: 120_000 }, async () => {
    const project = publishedLayout();
    const user = spawn(oldestNode, ['serve.mjs'], {
      cwd: project,
      env: { ...process.env, TASKMESH_LOG_DIR: join(dir, 'logs'), TASKMESH_PID_DIR: join(dir, 'pids') },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(user);
    let stderr = '';
    user.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(user, 'exit');
    const [line] = (await Promise.race([
      once(createInterface({ input: user.stdout! }), 'line'),
      exited.then(([code]) => Promise.reject(new Error(`serve.mjs exited (${String(code)}) before it printed: ${stderr}`))),
    ])) as [string];
    const launched = JSON.parse(line) as { url: string; mcpUrl: string; pid: number; reply: unknown };
    // The launcher ran on the old Node, so its service did too.
    expect(launched.reply).toEqual({ echoed: `typed on v${oldest}` });

    const http = await fetch(`${launched.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"http"}' });
    expect(http.status).toBe(200);
    expect(await http.json()).toEqual({ echoed: `http on v${oldest}` });

    const mcp = new Client({ name: 'taskmesh-test', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(launched.mcpUrl)));
    try {
      const result = await mcp.callTool({ name: 'echo', arguments: { message: 'mcp' } });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({ echoed: `mcp on v${oldest}` });
    } finally {
      await mcp.close();
    }

    // Closing its input asks serve.mjs to stop the service; then nothing may keep either process alive.
    user.stdin!.end();
    const [code] = await exited;
    expect(code, stderr).toBe(0);
    await waitFor(() => !isAlive(launched.pid) && groupMembers(launched.pid).length === 0, 10_000, 'the service to exit');
  });
});

/** A user's project: taskmesh installed as published (package.json and dist/), zod beside it, and the user's own files. */
function publishedLayout(): string {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')], { cwd: repo, stdio: 'pipe' });
  writeFileSync(join(pkg, 'package.json'), readFileSync(join(repo, 'package.json')));

  // Outside any node_modules: Node strips types only there.
  const project = join(dir, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(project, 'node_modules', 'taskmesh'));
  symlinkSync(join(repo, 'node_modules', 'zod'), join(project, 'node_modules', 'zod'));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(project, 'echo.service.ts'),
    `import { z } from 'zod';
import { Service, contract, task, type EndpointHandler, type ServiceOptions } from 'taskmesh';

export const echo = task({
  name: 'echo',
  description: 'Echo a message, saying which Node answered',
  input: z.object({ message: z.string() }),
  output: z.object({ echoed: z.string() }),
});
export const EchoContract = contract('EchoService', { echo });

export class EchoService extends Service.for(EchoContract, import.meta.url) {
  constructor(options?: ServiceOptions) {
    super(options);
    this.addEndpoint('echo', this.echo, { schema: echo, asTool: true });
  }

  echo: EndpointHandler<typeof echo> = ({ message }) => ({ echoed: \`\${message} on \${process.version}\` });
}
`,
  );
  writeFileSync(
    join(project, 'serve.mjs'),
    `import { launch } from 'taskmesh';

const client = await launch(new URL('./echo.service.ts#EchoService', import.meta.url).href, { host: '127.0.0.1', port: 0 });
const reply = await client.call('echo', { message: 'typed' });
console.log(JSON.stringify({ url: client.url, mcpUrl: client.mcpUrl, pid: client.pid, reply }));
for await (const _ of process.stdin);
await client.shutdown();
await client.close();
`,
  );
  return project;
}
