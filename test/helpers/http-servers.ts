import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';

/** A plain HTTP server on a free loopback port; `answer` false accepts requests and never replies. */
export async function plainServer(answer: boolean): Promise<{ url: string; server: Server; [Symbol.asyncDispose](): Promise<void> }> {
  const server = createServer((_req, res) => {
    if (answer) res.writeHead(404, { 'content-type': 'text/plain' }).end('not a taskmesh service');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A request a {@link resettingServer} received. */
export interface SeenRequest {
  path: string;
  /** The request came on a connection that had carried one before. */
  reused: boolean;
  connection: string | undefined;
}

/**
 * A server that answers a request on a new connection with `answer`, and resets one on a
 * kept-alive connection that already carried a request: as a stopping server closes the sockets
 * of a client's pool while new connections still reach it (or another replica behind the same
 * address). Close it with `close()`.
 */
export async function resettingServer(answer: (req: IncomingMessage, res: ServerResponse, server: Server) => void): Promise<{ url: string; server: Server; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const used = new WeakSet<Socket>();
  const server = createServer((req, res) => {
    const reused = used.has(req.socket);
    used.add(req.socket);
    seen.push({ path: req.url ?? '', reused, connection: req.headers.connection });
    if (reused) req.socket.resetAndDestroy();
    else answer(req, res, server);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    server,
    seen,
    async close() {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A TCP server that accepts every connection and closes it at once, unanswered; `accepted` counts them. */
export async function droppingServer(): Promise<{ url: string; accepted(): number; close(): Promise<void> }> {
  let accepted = 0;
  const server = createTcpServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    accepted: () => accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
