/**
 * Callers that stall: that send a request's head and then stop sending its body, or stop reading
 * the reply. Either would otherwise hold its socket and one of the gateway's connections to the
 * app for ever: Fastify turns off Node's request timeout, undici's headers timeout does not run
 * while it is still writing a request body, and its body timeout does not run while the gateway
 * has paused the app's reply for a caller that does not read.
 *
 * A body is given up once it has made no progress for `timeout` ms while the gateway was reading
 * it. Time in which the gateway itself is not reading (the app slow to take the body, or the
 * request still queued for a connection) never counts against the caller. One timer serves every
 * body being received, so a request whose body arrives with its head costs a map entry, not a
 * timer. A reply is given up once the caller's socket has stayed full for `timeout` ms.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

interface Watched {
  /** The socket's bytesRead when the body last made progress. */
  bytes: number;
  quietSince: number;
  stalled: () => void;
}

export class StalledCallers {
  readonly timeout: number;
  readonly #bodies = new Map<IncomingMessage, Watched>();
  #timer: NodeJS.Timeout | undefined;

  /** `timeout`: ms a caller may stall; 0 for no limit. */
  constructor(timeout: number) {
    this.timeout = timeout;
  }

  /**
   * Watch `req`'s body; `stalled` is called once if it stops arriving. Call the function returned
   * once the body is read or the exchange is over. Watching a request again replaces its watch.
   */
  watchBody(req: IncomingMessage, stalled: () => void): () => void {
    if (this.timeout <= 0 || req.complete) return () => {};
    this.#bodies.set(req, { bytes: req.socket.bytesRead, quietSince: Date.now(), stalled });
    this.#timer ??= setInterval(() => this.#sweep(), Math.min(1000, Math.max(20, this.timeout / 4))).unref();
    return () => void this.#bodies.delete(req);
  }

  /** The caller's socket is full: `resume` once it drains, or `stalled` if it has not within the timeout. */
  whenDrained(res: ServerResponse, resume: () => void, stalled: () => void): void {
    const timer = this.timeout > 0 ? setTimeout(stalled, this.timeout).unref() : undefined;
    res.once('drain', () => {
      clearTimeout(timer);
      resume();
    });
  }

  /** Stop watching every body (the gateway is stopping). */
  close(): void {
    this.#bodies.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [req, watched] of this.#bodies) {
      if (req.complete || req.destroyed) {
        this.#bodies.delete(req);
        continue;
      }
      const bytes = req.socket.bytesRead;
      // Not flowing: the gateway is not reading (its writes to the app are backed up, or the
      // request waits for a connection), so a pause is not the caller's.
      if (bytes !== watched.bytes || req.readableFlowing !== true) {
        watched.bytes = bytes;
        watched.quietSince = now;
      } else if (now - watched.quietSince >= this.timeout) {
        this.#bodies.delete(req);
        watched.stalled();
      }
    }
    // Stopped when idle, so that a gateway without uploads in progress wakes for nothing.
    if (this.#bodies.size === 0) this.close();
  }
}
