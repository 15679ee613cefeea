import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Tool } from '@modelcontextprotocol/client';
import { contract } from '../task.ts';
import { Service, type ServiceOptions } from '../service/service.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { NotesService } from '../mcp/fixtures/notes.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { Gateway } from './gateway.ts';
import { postJson, startGateway } from './test-support.ts';
import { federatedToolNames } from './tool-names.ts';

/** A service whose tools are named to collide with the echo service's once prefixed. */
class ToolBox extends Service.for(contract('ToolBox', {}), import.meta.url) {
  constructor(options: ServiceOptions, tools: string[]) {
    super(options);
    for (const name of tools) this.addTool(name, ({ text }) => `${name}: ${text}`, { input: z.object({ text: z.string() }), description: `tool ${name}` });
  }
}

const services: Service[] = [];
const clients: Client[] = [];
let gateway: Gateway;
let dir: string;

async function serve<S extends Service>(service: S): Promise<S> {
  await service.start();
  services.push(service);
  return service;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskmesh-federation-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await gateway?.stop();
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An SDK client of the gateway's MCP endpoint that records every tools/list_changed it is told about. */
async function mcpClient(url: string): Promise<{ client: Client; changes: Tool[][] }> {
  const changes: Tool[][] = [];
  const client = await Gateway.mcp.connect(url, {
    clientOptions: { listChanged: { tools: { debounceMs: 0, onChanged: (_error, tools) => tools && changes.push(tools) } } },
  });
  clients.push(client);
  return { client, changes };
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(20);
}

const names = (tools: Tool[]) => tools.map((t) => t.name).sort();

describe('MCP federation', () => {
  it('lists every app tool as <app>_<tool>, tells clients on registration, and routes calls', async () => {
    const echo = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    gateway = await startGateway();
    const { client, changes } = await mcpClient(gateway.url);
    expect(names((await client.listTools()).tools)).not.toContain('echoer_echo');

    await postJson(`${gateway.url}/register_app`, { name: 'echoer', url: echo.url });
    await until(() => changes.some((tools) => names(tools).includes('echoer_echo')));

    const { tools } = await client.listTools();
    const federated = tools.find((t) => t.name === 'echoer_echo')!;
    const direct = await EchoService.mcp.connect(echo.url);
    clients.push(direct);
    const original = (await direct.listTools()).tools.find((t) => t.name === 'echo')!;
    expect(federated.inputSchema).toEqual(original.inputSchema);
    expect(federated.description).toBe(original.description);
    // The app's built-in tools come along too.
    expect(names(tools)).toEqual(expect.arrayContaining(['echoer_status', 'echoer_heartbeat', 'echoer_endpoints']));

    const result = await client.callTool({ name: 'echoer_echo', arguments: { message: 'federated' } });
    expect(result.structuredContent).toEqual({ echoed: 'federated' });
    expect(result.isError).toBeFalsy();
  });

  it('passes the app refusal of bad arguments back to the caller, naming the app', async () => {
    const echo = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    gateway = await startGateway();
    await postJson(`${gateway.url}/register_app`, { name: 'echoer', url: echo.url });
    const { client } = await mcpClient(gateway.url);
    // Invalid arguments are a tool error the model can correct (SEP-1303), not a protocol error.
    const result = await client.callTool({ name: 'echoer_echo', arguments: { message: 42 } });
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: expect.stringMatching(/^App "echoer": Invalid arguments for tool "echo": message: /) }]);
  });

  it('removes an unregistered app tools, telling clients', async () => {
    const echo = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    gateway = await startGateway();
    await postJson(`${gateway.url}/register_app`, { name: 'echoer', url: echo.url });
    const { client, changes } = await mcpClient(gateway.url);
    expect(names((await client.listTools()).tools)).toContain('echoer_echo');
    await postJson(`${gateway.url}/unregister_app`, { name: 'echoer' });
    await until(() => changes.some((tools) => !names(tools).includes('echoer_echo')));
    expect(names((await client.listTools()).tools).filter((n) => n.startsWith('echoer_'))).toEqual([]);
  });

  it('follows an app own tool changes', async () => {
    const box = await serve(new ToolBox({ host: '127.0.0.1', port: 0, logger: false }, ['first']));
    gateway = await startGateway();
    await postJson(`${gateway.url}/register_app`, { name: 'box', url: box.url });
    const { client, changes } = await mcpClient(gateway.url);
    expect(names((await client.listTools()).tools)).toContain('box_first');
    box.addTool('second', () => 'two');
    await until(() => changes.some((tools) => names(tools).includes('box_second')));
    expect((await client.callTool({ name: 'box_second', arguments: {} })).content).toEqual([{ type: 'text', text: 'two' }]);
  });

  it('reads an app tools again when it restarts with other tools', async () => {
    const first = await serve(new ToolBox({ host: '127.0.0.1', port: 0, logger: false }, ['before']));
    gateway = await startGateway({ healthCheckInterval: 50 });
    await postJson(`${gateway.url}/register_app`, { name: 'box', url: first.url });
    const { client, changes } = await mcpClient(gateway.url);
    expect(names((await client.listTools()).tools)).toContain('box_before');
    await first.stop();
    // Same endpoints (built-ins only), other tools: the new server id is what tells the gateway.
    await serve(new ToolBox({ url: first.url, logger: false }, ['after']));
    await until(() => changes.some((tools) => names(tools).includes('box_after') && !names(tools).includes('box_before')));
    expect((await client.callTool({ name: 'box_after', arguments: { text: 'again' } })).content).toEqual([{ type: 'text', text: 'after: again' }]);
  });

  it('resolves name collisions deterministically, whatever the registration order', async () => {
    const ab = await serve(new ToolBox({ host: '127.0.0.1', port: 0, logger: false }, ['c']));
    const a = await serve(new ToolBox({ host: '127.0.0.1', port: 0, logger: false }, ['b_c', 'b.c']));
    const seen: string[][] = [];
    for (const order of [['a_b', 'a'], ['a', 'a_b']]) {
      gateway = await startGateway();
      for (const name of order) await postJson(`${gateway.url}/register_app`, { name, url: name === 'a' ? a.url : ab.url });
      const federated = gateway.federation!.names();
      seen.push(['a_b_c', 'a_b_c_2', 'a_b_c_3'].map((n) => `${n}=${federated.get(n)?.app}/${federated.get(n)?.tool}`));
      const { client } = await mcpClient(gateway.url);
      expect((await client.callTool({ name: 'a_b_c_3', arguments: { text: 'x' } })).content).toEqual([{ type: 'text', text: 'c: x' }]);
      await gateway.stop();
    }
    expect(seen[0]).toEqual(['a_b_c=a/b.c', 'a_b_c_2=a/b_c', 'a_b_c_3=a_b/c']);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('answers a call to an app that went down with an error result naming it', async () => {
    const echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    await echo.start();
    gateway = await startGateway();
    await postJson(`${gateway.url}/register_app`, { name: 'echoer', url: echo.url });
    const { client } = await mcpClient(gateway.url);
    await echo.stop();
    const result = await client.callTool({ name: 'echoer_echo', arguments: { message: 'anyone?' } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('App \\"echoer\\" could not run its tool \\"echo\\"');
  });

  it('registers an app that serves no MCP without tools, and restores federated tools from a state file', async () => {
    gateway = await startGateway();
    const none = await postJson(`${gateway.url}/register_app`, { name: 'nomcp', url: `http://127.0.0.1:${await freePort()}` });
    expect(none.status).toBe(200);
    expect([...gateway.federation!.names().keys()].filter((n) => n.startsWith('nomcp_'))).toEqual([]);
    await gateway.stop();

    const echo = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false }));
    const stateFile = join(dir, 'federation.json');
    gateway = await startGateway({ stateFile });
    await postJson(`${gateway.url}/register_app`, { name: 'echoer', url: echo.url });
    await gateway.stop();
    gateway = await startGateway({ stateFile });
    const { client } = await mcpClient(gateway.url);
    // Restored apps are read in the background after start-up.
    await until(async () => names((await client.listTools()).tools).includes('echoer_echo'));
    expect((await client.callTool({ name: 'echoer_echo', arguments: { message: 'restored' } })).structuredContent).toEqual({ echoed: 'restored' });
  });
});

describe('MCP federation and admin tools', () => {
  it("does not lend the gateway's loopback address to its MCP clients: an app's admin tools refuse federated calls", async () => {
    const notes = await serve(new NotesService({ host: '127.0.0.1', port: 0, logger: false }));
    notes.notes.set(1, { title: 'kept', body: '' });
    gateway = await startGateway();
    const { client, changes } = await mcpClient(gateway.url);
    await postJson(`${gateway.url}/register_app`, { name: 'notes', url: notes.url });
    await until(() => changes.some((tools) => names(tools).includes('notes_wipe')));

    const refused = await client.callTool({ name: 'notes_wipe', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('is an admin tool');
    expect(notes.notes.size).toBe(1);

    // The same app grants the tool to a loopback caller of its own: the gateway alone is refused.
    const direct = await NotesService.mcp.connect(notes.url);
    clients.push(direct);
    expect((await direct.callTool({ name: 'wipe', arguments: {} })).structuredContent).toEqual({ wiped: 1 });
  });
});

describe('MCP federation of prompts', () => {
  it('lists every app prompt as <app>_<prompt>, gets it from the app, and follows the app\'s prompt changes', async () => {
    const notes = await serve(new NotesService({ host: '127.0.0.1', port: 0, logger: false }));
    gateway = await startGateway();
    const changes: string[][] = [];
    const client = await Gateway.mcp.connect(gateway.url, {
      clientOptions: { listChanged: { prompts: { debounceMs: 0, onChanged: (_error, prompts) => prompts && changes.push(prompts.map((p) => p.name)) } } },
    });
    clients.push(client);
    await postJson(`${gateway.url}/register_app`, { name: 'notes', url: notes.url });
    await until(() => changes.some((list) => list.includes('notes_summarize')));

    const listed = (await client.listPrompts()).prompts.find((p) => p.name === 'notes_summarize');
    expect(listed).toEqual({
      name: 'notes_summarize',
      description: 'Summarize a note.',
      arguments: [
        { name: 'id', description: 'The note id', required: true },
        { name: 'style', description: 'How to write it', required: false },
      ],
    });
    expect((await client.getPrompt({ name: 'notes_summarize', arguments: { id: '7' } })).messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'Summarize note 7 in a short style.' } },
    ]);
    // The app checks the arguments; its refusal comes back naming it.
    await expect(client.getPrompt({ name: 'notes_summarize', arguments: {} })).rejects.toThrow(/App "notes": Invalid arguments for prompt "summarize"/);

    notes.addPrompt('fresh', () => 'new here');
    await until(() => changes.some((list) => list.includes('notes_fresh')));
    expect((await client.getPrompt({ name: 'notes_fresh' })).messages[0]!.content).toEqual({ type: 'text', text: 'new here' });

    await postJson(`${gateway.url}/unregister_app`, { name: 'notes' });
    await until(() => !changes.at(-1)!.some((name) => name.startsWith('notes_')));
    expect((await client.listPrompts()).prompts.filter((p) => p.name.startsWith('notes_'))).toEqual([]);
  });
});

describe('federated tool names', () => {
  it('are <app>_<tool> with other characters made _, within 64 characters', () => {
    const long = 't'.repeat(80);
    const named = federatedToolNames([
      { app: 'echoer', tool: 'echo' },
      { app: 'models', tool: 'models.list' },
      { app: 'app', tool: long },
      { app: 'app', tool: `${long}2` },
    ]);
    expect([...named.keys()]).toEqual([`app_${'t'.repeat(60)}`, `app_${'t'.repeat(58)}_2`, 'echoer_echo', 'models_models_list']);
    for (const name of named.keys()) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('never take a name the gateway itself uses', () => {
    const named = federatedToolNames([{ app: 'x', tool: 'y' }], new Set(['x_y']));
    expect([...named.keys()]).toEqual(['x_y_2']);
  });
});
