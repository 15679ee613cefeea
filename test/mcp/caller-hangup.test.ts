// A caller that gives up on an MCP call, or closes its client, must neither leave the tool running
// unaware, nor leave the call's HTTP exchange open, nor hold the service's stop(): in the
// 2026-07-28 era, in a 2025-era session and on the 2025-era stateless path. The shutdown limit is
// set far beyond the tests' time-outs, and the clients keep idle connections for ten minutes, so a
// stop() that waited on either would time out.
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { McpConnection } from '../../src/mcp-client/index.ts';
import { eraClient } from '../../src/mcp/fixtures/clients.ts';
import { mcpUrl } from '../../src/config.ts';
import { waitFor } from '../helpers/processes.ts';

const HANG_GUARD = { timeout: 20_000 };

let previousDispatcher: Dispatcher;
const patientClients = new Agent({ keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });

beforeAll(() => {
  previousDispatcher = getGlobalDispatcher();
  setGlobalDispatcher(patientClients);
});
afterAll(async () => {
  setGlobalDispatcher(previousDispatcher);
  await patientClients.destroy();
});

/** A service with a tool that sleeps 3 s, honouring its abort signal or not; it reports the call's start and abort. */
class Sleeper extends EchoService {
  #started!: () => void;
  #aborted!: (reason: string) => void;
  readonly started = new Promise<void>((resolve) => (this.#started = resolve));
  readonly aborted = new Promise<string>((resolve) => (this.#aborted = resolve));

  constructor(honoursAbort: boolean) {
    super({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: 60_000 });
    this.addTool('sleep', async (_input, context) => {
      context.signal.addEventListener('abort', () => this.#aborted(String(context.signal.reason)), { once: true });
      this.#started();
      if (honoursAbort) await sleep(3_000, undefined, { signal: context.signal }).catch(() => {});
      else await sleep(3_000);
      return 'slept';
    });
  }
}

const services: EchoService[] = [];
const connections: McpConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

async function serve<S extends EchoService>(service: S): Promise<S> {
  services.push(service);
  await service.start();
  return service;
}

/** The server's side of every HTTP exchange that starts from now on. */
function exchangesFrom(service: EchoService): ServerResponse[] {
  const responses: ServerResponse[] = [];
  service.app!.server.on('request', (_request, response) => responses.push(response));
  return responses;
}

function connection(service: EchoService, protocol: 'auto' | 'legacy'): McpConnection {
  const made = new McpConnection({ name: 'sleeper', url: mcpUrl(service.url), protocol });
  connections.push(made);
  return made;
}

describe.each([
  ['2026-07-28', 'auto'],
  ['a 2025-era session', 'legacy'],
] as const)('a call abandoned by its caller, in %s', (_era, protocol) => {
  it.each([true, false])('aborts the tool (honouring its signal: %s) and lets stop() return', HANG_GUARD, async (honoursAbort) => {
    const service = await serve(new Sleeper(honoursAbort));
    const mcp = connection(service, protocol);
    await mcp.listTools();
    const exchanges = exchangesFrom(service);
    const caller = new AbortController();
    const call = mcp.callTool('sleep', {}, { signal: caller.signal });
    await service.started;
    caller.abort(new Error('the caller gave up'));
    await expect(call).rejects.toThrow(/gave up/);
    await service.aborted; // never settles, and the test times out, unless the tool's signal fired
    // The server ends the call's HTTP exchange (and, in a session, the cancelled request's stream).
    await waitFor(() => exchanges.every((response) => response.closed), 10_000, 'the HTTP exchanges of the call to end');
    // The connection is still good for other calls.
    expect((await mcp.callTool('echo', { message: 'still here' })).structuredContent).toEqual({ echoed: 'still here' });
    await service.stop();
    expect(service.status).toBe('Down');
    expect(service.mcp.sessionCount).toBe(0);
  });
});

describe('a 2025-era call without a session, abandoned by its caller', () => {
  const post = (service: EchoService, body: object, signal?: AbortSignal) =>
    fetch(mcpUrl(service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...body }),
      ...(signal ? { signal } : {}),
    });

  // A plain call is served directly; one with a progress token goes through the SDK server.
  it.each([
    ['served directly', {}],
    ['served by the SDK server', { _meta: { progressToken: 'p' } }],
  ])('aborts the tool (%s) and lets stop() return', HANG_GUARD, async (_path, extra) => {
    const service = await serve(new Sleeper(false));
    expect((await post(service, { method: 'tools/list' })).status).toBe(200);
    const exchanges = exchangesFrom(service);
    const caller = new AbortController();
    const call = post(service, { method: 'tools/call', params: { name: 'sleep', arguments: {}, ...extra } }, caller.signal).then((response) => response.text());
    await service.started;
    caller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    expect(await service.aborted).toContain('went away');
    await waitFor(() => exchanges.every((response) => response.closed), 10_000, 'the HTTP exchange of the call to end');
    await service.stop();
    expect(service.status).toBe('Down');
  });
});

describe('a client that closes right after connecting', () => {
  it('lets stop() return, after a 2026-07-28 client stopped listening', HANG_GUARD, async () => {
    const service = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: 60_000 }));
    const client = await eraClient(service.url, '2026-07-28');
    const subscription = await client.listen({ toolsListChanged: true });
    await subscription.close();
    await client.close();
    await service.stop();
    expect(service.status).toBe('Down');
  });

  it.each(['auto', 'legacy'] as const)('lets stop() return, after an McpConnection (%s) closed', HANG_GUARD, async (protocol) => {
    const service = await serve(new EchoService({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: 60_000 }));
    const mcp = connection(service, protocol);
    await mcp.listTools();
    await mcp.close();
    await service.stop();
    expect(service.status).toBe('Down');
    expect(service.mcp.sessionCount).toBe(0);
  });
});
