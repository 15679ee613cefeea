/**
 * The MCP endpoint on the service's direct path (src/service/direct-calls.ts). A plain 2025-era
 * request, without a session (what every stateless client and load test sends) or in a session this
 * process holds, is answered beside Fastify by the same serving, with the same answer and log line
 * as through the Fastify route.
 *
 * The choice is made twice. From the request line and headers: anything the Fastify route would
 * refuse or serve otherwise (another method, a session not held here, a Host the guard refuses, a
 * service that is not Available, a runtime not loaded yet, a refused Accept or protocol version)
 * goes to Fastify unread. Then from the body: anything but a plain 2025-era request (an `initialize`, a 2026-07-28
 * request, a batch, a notification, a body that is not JSON) goes to Fastify with the body read.
 *
 * This module loads with every service, so it takes nothing from the MCP SDK but types.
 */
import { ServerStatus } from '../../protocol.ts';
import type { AdminPolicy } from '../../service/admin.ts';
import { isAdminRequest } from '../../service/admin.ts';
import { isPlainJsonPost, readWholeBody, requestLogger, silentLog, type DirectRoute } from '../../service/direct-calls.ts';
import type { CallsInProgress } from '../stopping.ts';
import type { McpHttpRuntime } from './runtime.ts';

export interface McpDirectRouteHost {
  /** The MCP endpoint's path. */
  path: string;
  /** The DNS rebinding check of the Fastify route: a reason to refuse, or undefined. */
  guard: (headers: Record<string, string | string[] | undefined>) => string | undefined;
  status: () => ServerStatus;
  /** The serving runtime, once loaded. */
  runtime: () => McpHttpRuntime | undefined;
  calls: CallsInProgress;
  adminPolicy: AdminPolicy;
}

export function mcpDirectRoute(host: McpDirectRouteHost): DirectRoute {
  return (req, res, path) => {
    if ((req.url !== host.path && req.url !== `${host.path}/`) || !isPlainJsonPost(req, path.bodyLimit)) return false;
    const runtime = host.runtime();
    if (!runtime || host.status() !== ServerStatus.Available || host.guard(req.headers) !== undefined || !runtime.takesDirectly(req.headers)) return false;
    readWholeBody(req, (body) => {
      const text = body.toString('utf8');
      // Fastify gives an empty body and bad JSON their answers. And the service may have begun to stop while the body came.
      if (text === '' || host.status() !== ServerStatus.Available || host.runtime() !== runtime) return path.toFastify(req, res, body);
      path.parseJson(undefined as never, text, (error, message) => {
        if (error || !runtime.takesBody(req, message)) return path.toFastify(req, res, body);
        const { requestId, log } = requestLogger(path, req);
        host.calls.trackCall(res);
        runtime.answerDirectly(req, res, message, { requestId, log: log ?? silentLog, isAdmin: () => isAdminRequest(req, host.adminPolicy) }, log);
      });
    });
    return true;
  };
}
