// The MCP Inspector's CLI (@modelcontextprotocol/inspector --cli), a client we did not write,
// lists and calls the tools of the echo sample run as `npm start` runs it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { killGroup, waitFor } from '../helpers/processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const inspector = fileURLToPath(import.meta.resolve('@modelcontextprotocol/inspector/package.json')).replace(/package\.json$/, 'cli/build/cli.js');
let echo: ChildProcess;
let mcpEndpoint: string;

beforeAll(async () => {
  echo = spawn(process.execPath, ['examples/echo/main.ts'], { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  echo.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const url = await waitFor(() => /EchoService at (http:\/\/\S+)/.exec(stderr)?.[1], 30_000, 'the echo sample to serve');
  mcpEndpoint = `${url}/mcp-server/mcp`;
});

afterAll(() => {
  if (echo?.pid) killGroup(echo.pid);
});

async function inspect(...args: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, [inspector, '--cli', mcpEndpoint, ...args], { cwd: root, timeout: 60_000 });
  return JSON.parse(stdout);
}

it('lists the tools of the echo sample', { timeout: 90_000 }, async () => {
  const { tools } = await inspect('--method', 'tools/list');
  const echoTool = tools.find((t: { name: string }) => t.name === 'echo');
  expect(echoTool).toMatchObject({
    description: 'Echo a message back, after an optional delay in seconds. (tool "echo" of EchoService)',
    inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
    outputSchema: { type: 'object', properties: { echoed: { type: 'string' } } },
  });
  expect(tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['status', 'heartbeat', 'endpoints']));
});

it('calls the echo tool of the echo sample', { timeout: 90_000 }, async () => {
  const result = await inspect('--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hello inspector');
  expect(result).toEqual({ content: [{ type: 'text', text: '{"echoed":"hello inspector"}' }], structuredContent: { echoed: 'hello inspector' } });
});
