// A reply taken over from Fastify (here: an MCP session's initialize, which the SDK writes itself)
// still carries the request id, and still gets its one log line, when it ends.
import { request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { mcpUrl } from '../config.ts';

const services: EchoService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

it('keeps the request id header and logs the line of a reply the MCP layer writes itself', async () => {
  const logs = logCapture();
  const service = new EchoService({ host: '127.0.0.1', port: 0, logger: { level: 'info', stream: logs.stream } });
  services.push(service);
  await service.start();
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'take-over-test', version: '1' } } };
  const res = await request(mcpUrl(service.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-request-id': 'taken-over-1' },
    body: JSON.stringify(initialize),
  });
  await res.body.text();
  expect(res.statusCode).toBe(200);
  expect(res.headers['mcp-session-id']).toEqual(expect.any(String));
  expect(res.headers['x-request-id']).toBe('taken-over-1');
  const lines = logs.lines.filter((line) => line.requestId === 'taken-over-1' && line.msg === 'request');
  expect(lines).toEqual([expect.objectContaining({ method: 'POST', url: new URL(mcpUrl(service.url)).pathname, status: 200 })]);
});
