/**
 * The open connections of a service's HTTP server, so that shutdown can close the ones that carry
 * no request. Node's `closeIdleConnections()` closes a keep-alive connection between requests, but
 * not one that has not sent its first request yet: Node counts that as a request still arriving.
 * undici opens exactly such a connection whenever one of its requests is aborted (a caller that
 * gives up on an MCP call, or closes a stream), and keeps it until its keep-alive timeout (4 s for
 * fetch, 10 s for taskmesh's pools), so `server.close()` waited that long, or for ever with a
 * client that never drops it.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTracker {
  /** Close every connection with no request in progress: those between requests, and those that never sent one. */
  closeIdle(): void;
}

export function trackConnections(server: Server): ConnectionTracker {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    closeIdle() {
      server.closeIdleConnections();
      // Not a byte read: no request can be lost by closing it.
      for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
    },
  };
}
