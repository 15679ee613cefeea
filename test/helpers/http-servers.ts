import { createServer, type Server } from 'node:http';

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
