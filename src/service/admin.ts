/**
 * Who may call admin endpoints (shutdown, register_app, admin-scoped tasks and tools): a caller
 * with the admin token, or a loopback caller of a service bound to loopback only. A request that
 * came through a proxy (it carries Forwarded or X-Forwarded-For) never counts as loopback, so a
 * gateway on the same machine cannot lend its loopback address to remote callers. Nor does a
 * browser's: a page of any site can POST to a loopback port without a preflight, or reach it under
 * the site's own name by DNS rebinding, so a request whose Host is not a loopback name, or whose
 * Origin is another than its Host, needs the token.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, TaskmeshError } from '../errors.ts';
import { isLoopbackHost } from '../config.ts';
import { ADMIN_TOKEN_ENV } from '../protocol.ts';

export interface AdminPolicy {
  token: string | undefined;
  /** True when the service listens on loopback addresses only. */
  loopbackOnly: () => boolean;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function tokenMatches(expected: string, given: string): boolean {
  // Compare fixed-length digests so that neither the length nor the content leaks through timing.
  return timingSafeEqual(digest(expected), digest(given));
}

/** What the rule reads of a request: Fastify's, or Node's own. */
type CallerFacts = Pick<IncomingMessage, 'headers' | 'socket'>;

function bearerToken(request: CallerFacts): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

/** The request names nothing but this loopback service: a loopback Host, and no Origin or its own. */
function namesOnlyLoopback(request: CallerFacts): boolean {
  const { host, origin } = request.headers;
  if (host === undefined || !isLoopbackHost(host.replace(/:\d+$/, ''))) return false;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null": a sandboxed page or a file
  }
}

export function isAdminRequest(request: CallerFacts, policy: AdminPolicy): boolean {
  const proxied = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  if (!proxied && policy.loopbackOnly() && isLoopbackHost(request.socket.remoteAddress ?? '') && namesOnlyLoopback(request)) return true;
  const given = bearerToken(request);
  return policy.token !== undefined && given !== undefined && tokenMatches(policy.token, given);
}

export function adminGuard(policy: AdminPolicy, path: string) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (isAdminRequest(request, policy)) return;
    const hint = policy.token
      ? `send the service's admin token as 'Authorization: Bearer <token>'`
      : `this service has no admin token: start it with ${ADMIN_TOKEN_ENV} (or the adminToken option) set, then send 'Authorization: Bearer <token>'`;
    throw new TaskmeshError(ErrorCodes.UNAUTHORIZED, `${path} is an admin endpoint: ${hint}.`, { status: 401 });
  };
}
