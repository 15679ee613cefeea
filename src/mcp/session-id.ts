/**
 * Self-contained 2025-era session ids. The id carries what the client sent in `initialize`
 * (protocol version, capabilities, client info), signed with a key every worker and replica
 * shares, so any of them can rebuild the session from the id alone: no shared session store, and
 * no "session not found" when a client's requests land on different processes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The `initialize` params a session was opened with, as sent by the client. */
export interface SessionClaims {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string; [key: string]: unknown };
  /** When the session was opened (ms since the epoch). */
  issuedAt: number;
}

interface Payload {
  p: string;
  c: Record<string, unknown>;
  i: SessionClaims['clientInfo'];
  t: number;
  /** Makes two sessions opened by identical clients in the same millisecond distinct. */
  n: string;
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

export function signSessionId(claims: SessionClaims, secret: string): string {
  const payload: Payload = { p: claims.protocolVersion, c: claims.capabilities, i: claims.clientInfo, t: claims.issuedAt, n: randomBytes(9).toString('base64url') };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** The claims of a genuine, unexpired id; undefined for anything else (malformed, forged, too old). */
export function verifySessionId(id: string, secret: string, maxAgeMs: number, now = Date.now()): SessionClaims | undefined {
  const dot = id.indexOf('.');
  if (dot <= 0 || dot !== id.lastIndexOf('.')) return undefined;
  const body = id.slice(0, dot);
  const given = Buffer.from(id.slice(dot + 1), 'base64url');
  const expected = mac(secret, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
  } catch {
    return undefined;
  }
  if (typeof payload?.t !== 'number' || now - payload.t > maxAgeMs || payload.t - now > 60_000) return undefined;
  return { protocolVersion: payload.p, capabilities: payload.c ?? {}, clientInfo: payload.i, issuedAt: payload.t };
}

/** The signing key: the given one, else TASKMESH_MCP_SESSION_SECRET, else a random one for this process only. */
export function sessionSecret(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return given ?? env[SESSION_SECRET_ENV] ?? randomBytes(32).toString('base64url');
}

export const SESSION_SECRET_ENV = 'TASKMESH_MCP_SESSION_SECRET';
