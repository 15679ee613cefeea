import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, ServiceCallError } from '../errors.ts';
import { acquirePool, releasePool, sendJson } from './http.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A plain node server standing in for a service that is not taskmesh (a proxy, a reference-framework service). */
async function foreignServer(reply: (path: string) => { status: number; type: string; body: string }): Promise<string> {
  server = createServer((req, res) => {
    const { status, type, body } = reply(req.url ?? '/');
    res.writeHead(status, { 'content-type': type }).end(body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('pools', () => {
  it('one keep-alive pool per origin, shared, closed when its last user releases it', async () => {
    const a = acquirePool('http://127.0.0.1:1');
    const b = acquirePool('http://127.0.0.1:1');
    expect(b).toBe(a);
    expect(acquirePool('http://127.0.0.1:2')).not.toBe(a);
    await releasePool('http://127.0.0.1:2');
    await releasePool('http://127.0.0.1:1');
    expect(a.closed).toBe(false);
    await releasePool('http://127.0.0.1:1');
    expect(a.closed).toBe(true);
    const fresh = acquirePool('http://127.0.0.1:1');
    expect(fresh).not.toBe(a);
    await releasePool('http://127.0.0.1:1');
  });
});

describe('replies from services that are not taskmesh', () => {
  it('a 2xx reply that is not JSON is an INVALID_OUTPUT error', async () => {
    const url = await foreignServer(() => ({ status: 200, type: 'text/html', body: '<html>hi</html>' }));
    const pool = acquirePool(url);
    try {
      const error = await sendJson({ pool, baseUrl: url, basePath: '', method: 'POST', path: 'x', timeout: 5000 }).catch((e) => e);
      expect(error.code).toBe(ErrorCodes.INVALID_OUTPUT);
      expect(error.message).toMatch(/not JSON/);
    } finally {
      await releasePool(url);
    }
  });

  it('a plain-text error keeps its text; a FastAPI-style detail becomes the message', async () => {
    const url = await foreignServer((path) =>
      path === '/text' ? { status: 502, type: 'text/plain', body: 'bad gateway upstream' } : { status: 400, type: 'application/json', body: '{"detail":"no such model"}' },
    );
    const pool = acquirePool(url);
    try {
      const text = await sendJson({ pool, baseUrl: url, basePath: '', method: 'GET', path: 'text', timeout: 5000 }).catch((e) => e);
      expect(text).toBeInstanceOf(ServiceCallError);
      expect(text).toMatchObject({ status: 502 });
      expect(text.message).toContain('bad gateway upstream');
      const detail = await sendJson({ pool, baseUrl: url, basePath: '', method: 'GET', path: 'detail', timeout: 5000 }).catch((e) => e);
      expect(detail.message).toContain('no such model');
    } finally {
      await releasePool(url);
    }
  });
});
