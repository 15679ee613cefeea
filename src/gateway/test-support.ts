/**
 * Test support for the gateway's tests: a plain node:http upstream that reports what it received,
 * and a gateway on a free port. Not part of the public API.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { Gateway, type GatewayOptions } from './gateway.ts';

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  sha256: string;
}

async function drain(request: IncomingMessage): Promise<{ length: number; sha256: string }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of request) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return { length, sha256: hash.digest('hex') };
}

/** What the upstream saw, for tests that wait on it. */
const events: string[] = [];

/** Routes: /record (its X-Forwarded-For into the events), /inspect (JSON of what came in; /late-inspect?ms= reads the body that late), /text, /slow?ms=, /bytes?size= (bytes:cut when its caller leaves first), /hang (and below), /no-content, anything else 404 text. */
async function upstreamHandler(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://upstream');
  const path = url.pathname.replace(/^\/base/, '');
  // Told as soon as the head arrives, before any body (a test can see that a request was sent on),
  // and when its caller went away.
  if (path.startsWith('/hang')) {
    events.push('hang:open');
    response.once('close', () => events.push('hang:closed'));
  }
  if (path === '/late-inspect') await sleep(Number(url.searchParams.get('ms') ?? 1000));
  const body = await drain(request);
  if (path === '/record') {
    events.push(`record:${String(request.headers['x-forwarded-for'] ?? 'none')}`);
    response.writeHead(204).end();
  } else if (path === '/inspect' || path === '/late-inspect') {
    const received: Received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, bodyLength: body.length, sha256: body.sha256 };
    response.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'inspect' });
    response.end(JSON.stringify(received));
  } else if (path === '/text') {
    response.writeHead(201, [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-upstream', 'text'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2; Path=/'],
      ['connection', 'keep-alive, x-hop'],
      ['x-hop', 'must not pass'],
    ]);
    response.end('plain text, not JSON');
  } else if (path === '/slow') {
    await sleep(Number(url.searchParams.get('ms') ?? 1000));
    if (!response.destroyed) response.writeHead(200, { 'content-type': 'text/plain' }).end('late');
  } else if (path === '/bytes') {
    response.once('close', () => {
      if (!response.writableFinished) events.push('bytes:cut');
    });
    const size = Number(url.searchParams.get('size') ?? 0);
    const chunk = Buffer.alloc(64 * 1024, 7);
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!response.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await new Promise((r) => response.once('drain', r));
    }
    response.end();
  } else if (path.startsWith('/hang')) {
    // Never answers.
  } else if (path === '/no-content') {
    response.writeHead(204, { 'x-upstream': 'empty' }).end();
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`upstream has no ${path}`);
  }
}

export async function startUpstream(): Promise<{ url: string; server: Server; events: string[]; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    upstreamHandler(request, response).catch((error) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = new Gateway({ host: '127.0.0.1', port: 0, logger: false, healthCheckInterval: 0, ...options });
  await gateway.start();
  return gateway;
}

/** A gateway whose app is customised (a configureApp that only calls its own): every request goes through Fastify. */
class CustomisedGateway extends Gateway {
  protected override async configureApp(app: FastifyInstance): Promise<void> {
    await super.configureApp(app);
  }
}

/** startGateway's gateway, but forwarding through Fastify's route rather than beside Fastify. */
export async function startCustomisedGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = new CustomisedGateway({ host: '127.0.0.1', port: 0, logger: false, healthCheckInterval: 0, ...options });
  await gateway.start();
  return gateway;
}

/** POST JSON to a URL with fetch; resolves to status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** GET a URL and parse its JSON body. */
export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}
