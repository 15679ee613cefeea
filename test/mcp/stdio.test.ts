// `taskmesh mcp stdio <module>#<Export>`: a desktop client's view, through the SDK's stdio client
// transport, in both protocol eras; and only protocol messages on stdout.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { ERAS, eventually } from '../../src/mcp/fixtures/clients.ts';
import { killGroup } from '../helpers/processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const command = ['bin/taskmesh.js', 'mcp', 'stdio'];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

async function stdioClient(target: string, era: (typeof ERAS)[number]): Promise<Client> {
  const client = new Client({ name: 'desktop', version: '1' }, { versionNegotiation: { mode: era === '2026-07-28' ? { pin: era } : 'legacy' } });
  clients.push(client);
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [...command, target], cwd: root, stderr: 'ignore' }));
  return client;
}

describe.each(ERAS)('MCP over stdio, %s', (era) => {
  it('lists and calls the tools of the echo sample', { timeout: 60_000 }, async () => {
    const client = await stdioClient('examples/echo/echo.service.ts#EchoService', era);
    expect(client.getNegotiatedProtocolVersion()).toBe(era);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['echo', 'endpoints', 'heartbeat', 'status']);
    expect(await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } })).toMatchObject({ structuredContent: { echoed: 'over stdio' } });
    expect(await client.callTool({ name: 'status' })).toMatchObject({ structuredContent: { status: 'Available' } });
  });

  it('serves resources and prompts, and tells the client about a tool added while serving', { timeout: 60_000 }, async () => {
    const client = await stdioClient('src/mcp/fixtures/notes.service.ts#NotesService', era);
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void changed++);
    if (era === '2026-07-28') await client.listen({ toolsListChanged: true });
    expect((await client.readResource({ uri: 'notes://logo' })).contents[0]).toMatchObject({ mimeType: 'image/png' });
    expect((await client.getPrompt({ name: 'summarize', arguments: { id: '1', style: 'long' } })).messages[0]!.content).toEqual({ type: 'text', text: 'Summarize note 1 in a long style.' });
    expect((await client.callTool({ name: 'learn', arguments: { name: 'fresh' } })).content).toEqual([{ type: 'text', text: expect.stringMatching(/^learned by \d+$/) }]);
    await eventually(() => (changed > 0 ? true : undefined), 10_000, 'notifications/tools/list_changed');
    expect((await client.callTool({ name: 'fresh' })).content).toEqual([{ type: 'text', text: 'I am fresh' }]);
  });
});

it('writes only protocol messages to stdout, logs to stderr, and exits 0 when the client closes stdin', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [...command, 'examples/echo/echo.service.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    await eventually(() => (stdout.includes('"id":1') ? true : undefined), 30_000, 'the initialize answer');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'raw' } } });
    await eventually(() => (stdout.includes('"id":2') ? true : undefined), 30_000, 'the tools/call answer');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
    const lines = stdout.trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(lines.map((l) => JSON.parse(l).id)).toEqual([1, 2]);
    expect(JSON.parse(lines[1]!).result.structuredContent).toEqual({ echoed: 'raw' });
    expect(stderr).toContain('EchoService serves MCP over stdio');
  } finally {
    if (child.pid) killGroup(child.pid);
  }
});

it('on SIGTERM answers the calls in progress and refuses new ones, then exits 0', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [...command, 'examples/echo/echo.service.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  try {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const answer = (id: number) => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((message) => message.id === id);
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    await eventually(() => answer(1), 30_000, 'the initialize answer');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'slow', delay: 1 } } });
    // The call has begun: a listing sent after it is answered first, while it sleeps.
    send({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    await eventually(() => answer(3), 30_000, 'the tools/list answer');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: { message: 'too late' } } });
    expect(await exited).toBe(0);
    expect(answer(2).result.structuredContent).toEqual({ echoed: 'slow' });
    expect(answer(4).result).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('is Stopping and takes no new calls') }] });
  } finally {
    if (child.pid) killGroup(child.pid);
  }
});

it('exits 7 with the reason when the module cannot be served', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [...command, 'examples/echo/echo.contract.ts'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  try {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(7);
    expect(stderr).toContain('exports no Service class');
  } finally {
    if (child.pid) killGroup(child.pid);
  }
});
