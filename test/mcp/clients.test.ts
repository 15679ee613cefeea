// MCP clients of taskmesh services: Service.mcp.connect and .launch, and cm.mcpClient.
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { ServiceUnreachableError } from '../../src/index.ts';

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

let service: EchoService;
let url: string;

beforeAll(async () => {
  service = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  url = await service.start();
});
afterAll(() => service.stop());

it('EchoService.mcp.connect gives a connected SDK client, 2026-07-28 by default and 2025-era on request', async () => {
  const modern = await EchoService.mcp.connect(url);
  try {
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(await modern.callTool({ name: 'echo', arguments: { message: 'hi' } })).toMatchObject({ structuredContent: { echoed: 'hi' } });
  } finally {
    await modern.close();
  }
  const legacy = await EchoService.mcp.connect(url, { protocol: 'legacy' });
  try {
    expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect((await legacy.listTools()).tools.map((t) => t.name)).toContain('echo');
  } finally {
    await legacy.close();
  }
});

it('EchoService.mcp.connect names the URL when nothing answers there', async () => {
  const closed = await freePort();
  const error = await EchoService.mcp.connect(`http://127.0.0.1:${closed}`).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceUnreachableError);
  expect((error as Error).message).toContain(`Nothing answers at http://127.0.0.1:${closed}/mcp-server/mcp (ECONNREFUSED)`);
});

it('cm.mcpClient is made once and closed with the connection manager', async () => {
  const cm = await EchoService.connect(url);
  const mcp = await cm.mcpClient;
  expect(await cm.mcpClient).toBe(mcp);
  expect(await mcp.callTool({ name: 'echo', arguments: { message: 'via cm' } })).toMatchObject({ structuredContent: { echoed: 'via cm' } });
  await cm.close();
  await expect(mcp.callTool({ name: 'echo', arguments: { message: 'after close' } })).rejects.toThrow();
});

it('EchoService.mcp.launch serves the service in its own process until the client is closed', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const launchedUrl = `http://127.0.0.1:${port}`;
  const client = await EchoService.mcp.launch({ host: '127.0.0.1', port });
  try {
    expect(await client.callTool({ name: 'echo', arguments: { message: 'launched' } })).toMatchObject({ structuredContent: { echoed: 'launched' } });
    expect(await EchoService.statusAtHost(launchedUrl)).toBe('Available');
  } finally {
    await client.close();
  }
  expect(await EchoService.statusAtHost(launchedUrl)).toBe('Down');
});
