// MCP over Streamable HTTP, through the official SDK client, in both protocol eras: a 2025-era
// session (initialize, Mcp-Session-Id, GET stream) and a 2026-07-28 client (stateless, listen).
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERAS, eraClient, eventually } from '../fixtures/clients.ts';
import { NotesService } from '../fixtures/notes.service.ts';

let service: NotesService;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  service = new NotesService({ host: '127.0.0.1', port: 0, logger: false });
  url = await service.start();
});
afterAll(() => service.stop());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

async function connect(era: (typeof ERAS)[number], options: Parameters<typeof eraClient>[2] = {}): Promise<Client> {
  const client = await eraClient(url, era, options);
  clients.push(client);
  return client;
}

/** A service of its own, for tests that change its tools or count its streams. */
async function freshService(): Promise<{ service: NotesService; url: string; [Symbol.asyncDispose](): Promise<void> }> {
  const fresh = new NotesService({ host: '127.0.0.1', port: 0, logger: false });
  const freshUrl = await fresh.start();
  return { service: fresh, url: freshUrl, [Symbol.asyncDispose]: () => fresh.stop() };
}

/**
 * Wait until notifications can reach the client: a 2025-era client's GET stream is open (it opens
 * it after the handshake), or a 2026-07-28 client listens.
 */
async function listening(on: NotesService, client: Client, era: (typeof ERAS)[number], filter: Parameters<Client['listen']>[0]): Promise<void> {
  if (era === '2026-07-28') await client.listen(filter);
  else await eventually(() => (on.mcp.sessionStreams > 0 ? true : undefined), 5_000, 'the GET stream of the session');
}

/** The JSON-RPC error a call rejects with. */
async function rpcError(call: Promise<unknown>): Promise<{ code: number; message: string; data?: { code?: string; issues?: unknown[] } }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeDefined();
  return error as never;
}

describe.each(ERAS)('MCP %s', (era) => {
  it('negotiates its era', async () => {
    const client = await connect(era);
    expect(client.getNegotiatedProtocolVersion()).toBe(era);
    expect(client.getServerVersion()?.name).toBe('NotesService');
  });

  it('lists endpoint tools and MCP-only tools, with flat input schemas and descriptions that name the service', async () => {
    const { tools } = await (await connect(era)).listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual(['announce', 'breather', 'endpoints', 'explode', 'heartbeat', 'learn', 'notes.add', 'notes.count', 'shout', 'status', 'wait', 'whoami', 'wipe']);
    const add = byName.get('notes.add')!;
    expect(add.description).toBe('Add a note. (tool "notes.add" of NotesService)');
    expect(add.inputSchema).toMatchObject({ type: 'object', properties: { title: { type: 'string' }, body: { type: 'string', default: '' } }, required: ['title'] });
    expect(add.outputSchema).toMatchObject({ type: 'object', properties: { id: { type: 'integer' } } });
    expect(byName.get('explode')!.description).toBe('Always fails. (tool "explode" of NotesService)');
    // A non-object output travels wrapped, since structured content is an object.
    expect(byName.get('notes.count')!.outputSchema).toMatchObject({ type: 'object', properties: { result: { type: 'integer' } }, required: ['result'] });
    expect(byName.get('shout')!.title).toBe('Shout');
  });

  it('calls an endpoint tool through the endpoint: structured content and JSON text', async () => {
    const client = await connect(era);
    const result = await client.callTool({ name: 'notes.add', arguments: { title: `from ${era}` } });
    expect(result.isError).toBeFalsy();
    const { id } = result.structuredContent as { id: number };
    expect(JSON.parse((result.content as { text: string }[])[0]!.text)).toEqual({ id });
    expect(service.notes.get(id)).toEqual({ title: `from ${era}`, body: '' });
    const count = await client.callTool({ name: 'notes.count' });
    expect(count.structuredContent).toEqual({ result: service.notes.size });
  });

  it('takes arguments wrapped in `payload`, as the reference framework\'s clients send them, unless the tool has a payload field', async () => {
    await using fresh = await freshService();
    fresh.service.addTool('keep', ({ payload }) => `kept ${payload}`, { input: z.object({ payload: z.string() }) });
    const client = await eraClient(fresh.url, era);
    clients.push(client);
    expect((await client.callTool({ name: 'shout', arguments: { payload: { text: 'wrapped' } } })).structuredContent).toEqual({ result: 'WRAPPED' });
    expect((await client.callTool({ name: 'notes.add', arguments: { payload: { title: 'wrapped' } } })).isError).toBeFalsy();
    expect([...fresh.service.notes.values()]).toEqual([{ title: 'wrapped', body: '' }]);
    expect((await client.callTool({ name: 'keep', arguments: { payload: 'as is' } })).content).toEqual([{ type: 'text', text: 'kept as is' }]);
    // Not the wrapped form (another field beside it): checked as it came.
    expect((await rpcError(client.callTool({ name: 'shout', arguments: { payload: { text: 'x' }, extra: 1 } }))).code).toBe(-32602);
  });

  it('answers bad arguments with invalid params listing every issue', async () => {
    const error = await rpcError((await connect(era)).callTool({ name: 'notes.add', arguments: { title: '', body: 5 } }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('Invalid arguments for tool "notes.add"');
    expect(error.message).toContain('title:');
    expect(error.message).toContain('body:');
    expect(error.data?.code).toBe('TASKMESH_INVALID_INPUT');
    expect(error.data?.issues).toHaveLength(2);
  });

  it('answers an unknown tool with its own error naming the tools', async () => {
    const error = await rpcError((await connect(era)).callTool({ name: 'nope' }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('Unknown tool "nope"');
    expect(error.message).toContain('notes.add');
    expect(error.data?.code).toBe('TASKMESH_NOT_FOUND');
  });

  it('turns a throwing handler into a tool result with isError and the message', async () => {
    const result = await (await connect(era)).callTool({ name: 'explode' });
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'the notes caught fire' }]);
  });

  it('reports progress to a caller that asks for it', async () => {
    const progress: number[] = [];
    const result = await (await connect(era)).callTool({ name: 'wait', arguments: { ms: 30 } }, { onprogress: (p) => progress.push(p.progress) });
    expect(result.content).toEqual([{ type: 'text', text: 'waited' }]);
    expect(progress).toEqual([1, 2, 3]);
  });

  it('reads static, binary and templated resources, and lists templates and their instances', async () => {
    const client = await connect(era);
    const { id } = (await client.callTool({ name: 'notes.add', arguments: { title: 'read me', body: 'text' } })).structuredContent as { id: number };
    const index = await client.readResource({ uri: 'notes://index' });
    expect(index.contents[0]).toMatchObject({ uri: 'notes://index', mimeType: 'text/plain' });
    expect((index.contents[0] as { text: string }).text).toContain('read me');
    const logo = await client.readResource({ uri: 'notes://logo' });
    expect(logo.contents[0]).toMatchObject({ mimeType: 'image/png', blob: Buffer.from([137, 80, 78, 71]).toString('base64') });
    const note = await client.readResource({ uri: `notes://${id}` });
    expect(JSON.parse((note.contents[0] as { text: string }).text)).toEqual({ id, title: 'read me', body: 'text' });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['notes://index', 'notes://logo', `notes://${id}`]));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toEqual([{ uriTemplate: 'notes://{id}', name: 'note', description: 'One note, by id.', mimeType: 'application/json' }]);
    const missing = await rpcError(client.readResource({ uri: 'other://thing' }));
    expect(missing.code).toBe(-32602);
    expect(missing.message).toContain('No resource other://thing');
  });

  it('lists prompts with their arguments, gets one, and refuses bad arguments', async () => {
    const client = await connect(era);
    const { prompts } = await client.listPrompts();
    expect(prompts).toEqual([
      {
        name: 'summarize',
        description: 'Summarize a note.',
        arguments: [
          { name: 'id', description: 'The note id', required: true },
          { name: 'style', description: 'How to write it', required: false },
        ],
      },
    ]);
    const got = await client.getPrompt({ name: 'summarize', arguments: { id: '7' } });
    expect(got.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Summarize note 7 in a short style.' } }]);
    const error = await rpcError(client.getPrompt({ name: 'summarize', arguments: {} }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('id:');
  });

  it('completes prompt arguments and template variables', async () => {
    const client = await connect(era);
    const styles = await client.complete({ ref: { type: 'ref/prompt', name: 'summarize' }, argument: { name: 'style', value: 's' } });
    expect(styles.completion.values).toEqual(['short', 'silly']);
    const none = await client.complete({ ref: { type: 'ref/prompt', name: 'summarize' }, argument: { name: 'id', value: '' } });
    expect(none.completion.values).toEqual([]);
  });

  it('sends tools/list_changed when a tool is added and removed at run time', async () => {
    await using fresh = await freshService();
    let changes = 0;
    const client = await eraClient(fresh.url, era);
    clients.push(client);
    client.setNotificationHandler('notifications/tools/list_changed', () => void changes++);
    await listening(fresh.service, client, era, { toolsListChanged: true });
    fresh.service.addTool('added', () => 'fresh', { description: 'Added while serving.' });
    await eventually(() => (changes >= 1 ? true : undefined), 5_000, 'notifications/tools/list_changed');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('added');
    expect((await client.callTool({ name: 'added' })).content).toEqual([{ type: 'text', text: 'fresh' }]);
    expect(fresh.service.removeTool('added')).toBe(true);
    await eventually(() => (changes >= 2 ? true : undefined), 5_000, 'a second list_changed');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('added');
  });

  it('tells subscribed clients that a resource changed, and only them', async () => {
    await using fresh = await freshService();
    const updated: string[] = [];
    const client = await eraClient(fresh.url, era);
    clients.push(client);
    client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    if (era === '2026-07-28') await client.listen({ resourceSubscriptions: ['notes://index'] });
    else {
      await client.subscribeResource({ uri: 'notes://index' });
      await listening(fresh.service, client, era, {});
    }
    fresh.service.mcp.notifyResourceUpdated('notes://logo');
    fresh.service.mcp.notifyResourceUpdated('notes://index');
    await eventually(() => (updated.length > 0 ? true : undefined), 5_000, 'notifications/resources/updated');
    expect(updated).toEqual(['notes://index']);
  });

  it('sends resources and prompts list_changed too', async () => {
    await using fresh = await freshService();
    const seen: string[] = [];
    const client = await eraClient(fresh.url, era);
    clients.push(client);
    client.setNotificationHandler('notifications/resources/list_changed', () => void seen.push('resources'));
    client.setNotificationHandler('notifications/prompts/list_changed', () => void seen.push('prompts'));
    await listening(fresh.service, client, era, { resourcesListChanged: true, promptsListChanged: true });
    fresh.service.addResource('notes://extra', () => 'extra');
    fresh.service.addPrompt('extra', () => 'extra');
    await eventually(() => (seen.includes('resources') && seen.includes('prompts') ? true : undefined), 5_000, 'resources and prompts list_changed');
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain('extra');
  });
});
