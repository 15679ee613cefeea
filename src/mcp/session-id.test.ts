// Signed session ids: any process with the key can read the handshake back; nothing else can.
import { describe, expect, it } from 'vitest';
import { sessionSecret, signSessionId, verifySessionId, type SessionClaims } from './session-id.ts';

const claims: SessionClaims = {
  protocolVersion: '2025-11-25',
  capabilities: { sampling: {}, elicitation: { form: {} } },
  clientInfo: { name: 'desk', version: '2.1' },
  issuedAt: 1_800_000_000_000,
};
const DAY = 24 * 60 * 60_000;

describe('session ids', () => {
  it('carry the handshake, readable with the key', () => {
    const id = signSessionId(claims, 'key');
    expect(id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifySessionId(id, 'key', DAY, claims.issuedAt + 1000)).toEqual(claims);
  });

  it('differ for identical handshakes in the same millisecond', () => {
    expect(signSessionId(claims, 'key')).not.toBe(signSessionId(claims, 'key'));
  });

  it('refuse another key, a changed payload, garbage and old ids', () => {
    const id = signSessionId(claims, 'key');
    const now = claims.issuedAt + 1000;
    expect(verifySessionId(id, 'other', DAY, now)).toBeUndefined();
    const [body, mac] = id.split('.') as [string, string];
    const tampered = Buffer.from(Buffer.from(body, 'base64url').toString().replace('desk', 'evil')).toString('base64url');
    expect(verifySessionId(`${tampered}.${mac}`, 'key', DAY, now)).toBeUndefined();
    for (const junk of ['', 'abc', 'a.b.c', `${body}.`, `.${mac}`]) expect(verifySessionId(junk, 'key', DAY, now)).toBeUndefined();
    expect(verifySessionId(id, 'key', DAY, claims.issuedAt + DAY + 1)).toBeUndefined();
    expect(verifySessionId(id, 'key', DAY, claims.issuedAt - 10 * 60_000)).toBeUndefined();
  });

  it('are signed with the given key, else TASKMESH_MCP_SESSION_SECRET, else a random one', () => {
    expect(sessionSecret('given', { TASKMESH_MCP_SESSION_SECRET: 'env' })).toBe('given');
    expect(sessionSecret(undefined, { TASKMESH_MCP_SESSION_SECRET: 'env' })).toBe('env');
    const random = sessionSecret(undefined, {});
    expect(random.length).toBeGreaterThanOrEqual(32);
    expect(sessionSecret(undefined, {})).not.toBe(random);
  });
});
