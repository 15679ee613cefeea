/**
 * The bodies of requests for the gateway's own paths (register_app, the MCP endpoint, ...): given
 * up, 408 and the connection closed, once they stop arriving for callerIdleTimeout, as forwarded
 * bodies are (./forward.ts). A gateway runs without Node's whole-request timeout, so that a
 * forwarded upload may take as long as it keeps arriving; without this, a caller that sends a head
 * and then trickles nothing would hold its connection to the gateway's own paths for ever.
 * Tested with the forwarded ones, in ./stalled-callers.test.ts.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { RequestBodyTimeoutError } from '../errors.ts';
import { writeError } from '../service/direct-calls.ts';
import { directlyForwardedApp } from './forward.ts';
import { requestIdOf } from '../service/request-id.ts';
import type { AppRegistry } from './registry.ts';
import type { StalledCallers } from './stalled-callers.ts';

export function watchOwnBodies(server: Server, registry: AppRegistry, stalledCallers: StalledCallers, warn: (message: string) => void): void {
  if (stalledCallers.timeout <= 0) return;
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const { headers } = req;
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return;
    // Forwarding watches its bodies itself. One it forwards through Fastify (an encoded app name)
    // is watched here too until forwarding's own watch replaces this one (StalledCallers keeps one per request).
    if (headers['content-length'] === '0' || directlyForwardedApp(req.url ?? '', registry)) return;
    const stop = stalledCallers.watchBody(req, () => {
      warn(`${req.method} ${req.url}: the request body stopped arriving for ${stalledCallers.timeout} ms; answered 408 and closed the connection`);
      // Answered already (a 415, say) while the body still comes: Node would read the rest before the next request.
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      res.setHeader('connection', 'close');
      writeError(res, new RequestBodyTimeoutError(undefined, stalledCallers.timeout), requestIdOf(req), false, undefined);
    });
    // Not the reply's end: a reply sent before the body is read leaves Node reading (and dropping) the rest.
    req.once('end', stop);
    req.once('close', stop);
  });
}
