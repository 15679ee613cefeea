import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/client';
import { ErrorCodes, ServiceUnreachableError } from '../errors.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { mcpUrl } from '../config.ts';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { NotesService } from '../mcp/fixtures/notes.service.ts';
import { McpConnection, type CallPolicy } from './connection.ts';

let echo: EchoService;
const connections: McpConnection[] = [];

beforeAll(async () => {
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  echo.addTool('fails', () => {
    throw new Error('the tool broke');
  });
  await echo.start();
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await echo?.stop();
});

function connection(url: string, options: Partial<ConstructorParameters<typeof McpConnection>[0]> = {}): McpConnection {
  const made = new McpConnection({ name: 'echoer', url: mcpUrl(url), ...options });
  connections.push(made);
  return made;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('McpConnection', () => {
  it('connects on first use, lists tools and calls them', async () => {
    for (const protocol of ['auto', 'legacy'] as const) {
      const mcp = connection(echo.url, { protocol });
      expect(mcp.state).toBe('idle');
      const tools = await mcp.listTools();
      expect(mcp.state).toBe('ready');
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'fails']));
      expect(tools.find((t) => t.name === 'echo')?.inputSchema.properties).toHaveProperty('message');
      const result = await mcp.callTool('echo', { message: `over ${protocol}` });
      expect(result.structuredContent).toEqual({ echoed: `over ${protocol}` });
    }
  });

  it('returns a tool failure as an isError result, and throws the server refusal of bad calls', async () => {
    const mcp = connection(echo.url);
    expect(await mcp.callTool('fails')).toMatchObject({ isError: true, content: [{ type: 'text', text: 'the tool broke' }] });
    await expect(mcp.callTool('nope')).rejects.toThrow(/Unknown tool "nope"/);
    await expect(mcp.callTool('echo', { message: 3 })).rejects.toThrow(/message/);
  });

  it('keeps the tool list until the server says it changed, then reads it again', async () => {
    const changes: Tool[][] = [];
    const mcp = connection(echo.url, { onToolsChanged: (tools) => changes.push(tools) });
    expect((await mcp.listTools()).map((t) => t.name)).not.toContain('late');
    echo.addTool('late', () => 'here');
    try {
      for (let i = 0; i < 200 && changes.length === 0; i++) await sleep(25);
      expect(changes.at(-1)?.map((t) => t.name)).toContain('late');
      expect((await mcp.listTools()).map((t) => t.name)).toContain('late');
    } finally {
      echo.removeTool('late');
    }
  });

  it('lists and gets prompts, and lists none from a server that serves no prompts', async () => {
    const notes = new NotesService({ host: '127.0.0.1', port: 0, logger: false });
    await notes.start();
    // A bare SDK server with one tool and no prompts capability.
    const factory = () => {
      const server = new McpServer({ name: 'bare', version: '1' });
      server.registerTool('ping', { description: 'Answer pong.' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
      return server;
    };
    const handler = toNodeHandler(createMcpHandler(factory));
    const bare = createHttpServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const withPrompts = connection(notes.url!);
      expect((await withPrompts.listPrompts()).map((p) => p.name)).toEqual(['summarize']);
      expect((await withPrompts.getPrompt('summarize', { id: '3', style: 'long' })).messages).toEqual([
        { role: 'user', content: { type: 'text', text: 'Summarize note 3 in a long style.' } },
      ]);
      const without = new McpConnection({ name: 'bare', url: `http://127.0.0.1:${(bare.address() as { port: number }).port}/` });
      connections.push(without);
      expect(await without.listPrompts()).toEqual([]);
      expect((await without.listTools()).map((t) => t.name)).toEqual(['ping']);
    } finally {
      await Promise.all(connections.splice(0).map((c) => c.close()));
      await notes.stop();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });

  it('says which server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const mcp = connection(url);
    const error = await mcp.listTools().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toContain(mcpUrl(url));
    expect((error as Error).message).toContain('echoer');
    expect(mcp.state).toBe('idle');
  });

  it('reconnects once when the server restarted', async () => {
    const app = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    const url = await app.start();
    const mcp = connection(url, { protocol: 'legacy' });
    expect((await mcp.callTool('echo', { message: 'before' })).structuredContent).toEqual({ echoed: 'before' });
    await app.stop();
    const again = new EchoService({ url, logger: false });
    await again.start();
    try {
      expect((await mcp.callTool('echo', { message: 'after' })).structuredContent).toEqual({ echoed: 'after' });
    } finally {
      await again.stop();
    }
  });

  it('runs every request through the policy, which may refuse it', async () => {
    const seen: string[] = [];
    let open = true;
    // A circuit breaker in miniature: once open, requests fail without reaching the server.
    const policy: CallPolicy = {
      async execute(fn, signal) {
        seen.push(open ? 'passed' : 'refused');
        if (!open) throw new Error('circuit open');
        return fn({ signal: signal ?? new AbortController().signal });
      },
    };
    const mcp = connection(echo.url, { policy });
    await mcp.listTools();
    expect((await mcp.callTool('echo', { message: 'x' })).structuredContent).toEqual({ echoed: 'x' });
    open = false;
    await expect(mcp.callTool('echo', { message: 'y' })).rejects.toThrow('circuit open');
    expect(seen).toEqual(['passed', 'passed', 'refused']);
  });

  it('close() ends a connection still waiting for a server that never answers', async () => {
    let requests = 0;
    const silent = createHttpServer(() => void requests++);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const mcp = connection(`http://127.0.0.1:${(silent.address() as { port: number }).port}`);
      const pending = mcp.listTools().catch((error: unknown) => error);
      while (requests === 0) await sleep(10);
      await mcp.close();
      expect(await pending).toBeInstanceOf(Error);
      expect(mcp.state).toBe('closed');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses calls once closed, saying so', async () => {
    const mcp = connection(echo.url);
    await mcp.listTools();
    await mcp.close();
    expect(mcp.state).toBe('closed');
    await expect(mcp.callTool('echo', { message: 'x' })).rejects.toMatchObject({ code: ErrorCodes.CALL_FAILED, message: expect.stringContaining('closed') });
  });
});
