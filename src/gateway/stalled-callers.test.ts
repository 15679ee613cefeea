import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.ts';
import { WHOLE_BODY_LIMIT } from './forward.ts';
import type { Gateway } from './gateway.ts';
import { UPLOAD_CONNECTIONS } from './registry.ts';
import { postJson, startCustomisedGateway, startGateway, startUpstream } from './test-support.ts';

const IDLE_TIMEOUT = 300;

let upstream: Awaited<ReturnType<typeof startUpstream>>;
const sockets: Socket[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await upstream?.close();
});

/** A raw connection to `gateway` that has sent `head` (and what follows it); `answer` is all it reads until the gateway closes it. */
async function rawRequest(gateway: Gateway, head: string): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write(head);
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
  return { socket, answer };
}

const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await sleep(10);
};

const count = (event: string) => upstream.events.filter((e) => e === event).length;

/** For the tests of one describe block: a gateway made by `make`, with the upstream registered as "up". */
function gatewayForBlock(make: typeof startGateway): () => Gateway {
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    gateway = await make({ callerIdleTimeout: IDLE_TIMEOUT });
    expect((await postJson(`${gateway.url}/register_app`, { name: 'up', url: upstream.url })).status).toBe(200);
  });
  afterAll(() => gateway?.stop());
  return () => gateway!;
}

describe.each([
  ['beside Fastify', startGateway],
  ['through Fastify', startCustomisedGateway],
] as const)('a request body that stops arriving, %s', (_path, make) => {
  const gateway = gatewayForBlock(make);

  it.each([
    ['read whole', `Content-Length: ${WHOLE_BODY_LIMIT}\r\n\r\n${'x'.repeat(10)}`, 0],
    ['streamed, of a declared length', `Content-Length: ${WHOLE_BODY_LIMIT + 1}\r\n\r\n${'x'.repeat(10)}`, 1],
    ['streamed, chunked', 'Transfer-Encoding: chunked\r\n\r\na\r\nxxxxxxxxxx\r\n', 1],
  ] as const)('is answered 408 and its connection closed; the app request ends (%s)', async (_kind, rest, reachesApp) => {
    upstream.events.length = 0;
    const started = Date.now();
    const { answer } = await rawRequest(gateway(), `POST /up/hang HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\n${rest}`);
    const text = await answer;
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_TIMEOUT - 10);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text.toLowerCase()).toContain('connection: close');
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string; message: string };
    expect(body).toMatchObject({ code: ErrorCodes.REQUEST_BODY_TIMEOUT, message: expect.stringContaining('callerIdleTimeout') });
    // A body read whole never reaches the app; a streamed one did, and its request is ended.
    if (reachesApp) await until(() => count('hang:closed') === 1);
    expect(count('hang:open')).toBe(reachesApp);
  });

  it.each([
    ['a JSON call', 'register_app', 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":', 408],
    ['a body Fastify parses', 'register_app', 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{"name":\r\n', 408],
    ['the MCP endpoint', 'mcp', 'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{"jsonrpc":', 408],
    ['a body answered before it is read', 'list_apps', 'Content-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc', 415],
  ] as const)('to one of the gateway own paths is given up and its connection closed too (%s)', async (_kind, path, rest, status) => {
    const started = Date.now();
    const { answer } = await rawRequest(gateway(), `POST /${path} HTTP/1.1\r\nHost: gw\r\n${rest}`);
    const text = await answer;
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_TIMEOUT - 10);
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    if (status !== 408) return;
    expect(text.toLowerCase()).toContain('connection: close');
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string; message: string };
    expect(body).toMatchObject({ code: ErrorCodes.REQUEST_BODY_TIMEOUT, message: expect.stringMatching(/^The request body stopped arriving: nothing came for 300 ms/) });
  });

  it('is not cut while it keeps arriving, however long it takes in all', async () => {
    const { socket, answer } = await rawRequest(gateway(), 'POST /up/inspect HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    for (let i = 0; i < 8; i++) {
      socket.write('4\r\nabcd\r\n');
      await sleep(IDLE_TIMEOUT / 2);
    }
    socket.write('0\r\n\r\n');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    // The reply is chunked: its JSON is read where it stands.
    expect(text).toContain('"bodyLength":32');
  });

  it('is not cut while the app is slow to take it', async () => {
    // More than the sockets' buffers hold: the gateway stops reading until the app reads.
    const size = 32 * 1024 * 1024;
    const response = await fetch(`${gateway().url}/up/late-inspect?ms=${IDLE_TIMEOUT * 4}`, { method: 'POST', body: new Uint8Array(size) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ bodyLength: size });
  });
});

describe.each([
  ['beside Fastify', startGateway],
  ['through Fastify', startCustomisedGateway],
] as const)('a reply its caller stops reading, %s', (_path, make) => {
  const gateway = gatewayForBlock(make);

  // More than the sockets' buffers hold, so that the gateway has to wait on the caller.
  const size = 64 * 1024 * 1024;

  it('is cut, and the app request with it, once the caller has read nothing for the timeout', async () => {
    upstream.events.length = 0;
    const { socket, answer } = await rawRequest(gateway(), `GET /up/bytes?size=${size} HTTP/1.1\r\nHost: gw\r\n\r\n`);
    socket.pause();
    await until(() => count('bytes:cut') === 1);
    socket.resume();
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.length).toBeLessThan(size);
  });

  it('is not cut while the caller keeps reading, though the whole reply takes longer than the timeout', async () => {
    upstream.events.length = 0;
    const { socket, answer } = await rawRequest(gateway(), `GET /up/bytes?size=${size} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
    let read = 0;
    socket.on('data', (chunk: Buffer) => {
      read += chunk.length;
      // A short pause after each chunk (at most 64 KiB): slower than the gateway writes, so that it
      // waits on this caller again and again, for seconds in all.
      socket.pause();
      setTimeout(() => socket.resume(), 2);
    });
    const started = Date.now();
    await answer;
    expect(Date.now() - started).toBeGreaterThan(IDLE_TIMEOUT);
    expect(read).toBeGreaterThan(size);
    expect(upstream.events).toEqual([]);
  });
});

describe('uploads to one app', () => {
  it(`take at most ${UPLOAD_CONNECTIONS} connections to it, so that calls still get through however many stall`, async () => {
    // No body timeout: these uploads would stall for ever.
    const gateway = await startGateway({ callerIdleTimeout: 0 });
    try {
      expect((await postJson(`${gateway.url}/register_app`, { name: 'up', url: upstream.url })).status).toBe(200);
      upstream.events.length = 0;
      const stalled = [];
      // More than the calls' 256 connections.
      for (let i = 0; i < 300; i++) stalled.push(await rawRequest(gateway, 'POST /up/hang HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n'));
      await until(() => count('hang:open') === UPLOAD_CONNECTIONS);
      const call = await postJson(`${gateway.url}/up/inspect`, { small: true });
      expect(call.status).toBe(200);
      expect(count('hang:open')).toBe(UPLOAD_CONNECTIONS);
      // A queued upload goes out as one before it ends.
      stalled[0]!.socket.destroy();
      await until(() => count('hang:open') === UPLOAD_CONNECTIONS + 1);
      for (const { socket } of stalled) socket.destroy();
      await until(() => count('hang:closed') === UPLOAD_CONNECTIONS + 1);
    } finally {
      await gateway.stop();
    }
  });
});

describe('a gateway\'s requestTimeout', () => {
  it('is off by default, so that an upload may take as long as it keeps arriving; given, it bounds whole requests as a service\'s does', async () => {
    const unlimited = await startGateway();
    try {
      expect(unlimited.app!.server.requestTimeout).toBe(0);
    } finally {
      await unlimited.stop();
    }
    const bounded = await startGateway({ requestTimeout: 300, callerIdleTimeout: 0 });
    try {
      expect((await postJson(`${bounded.url}/register_app`, { name: 'up', url: upstream.url })).status).toBe(200);
      const { answer } = await rawRequest(bounded, `POST /up/inspect HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n${'x'.repeat(10)}`);
      const text = await answer;
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toContain(ErrorCodes.REQUEST_TIMEOUT);
    } finally {
      await bounded.stop();
    }
  });
});
