// DNS rebinding protection rules: which Host and Origin headers a service accepts.
import { describe, expect, it } from 'vitest';
import { hostGuard } from './guard.ts';

describe('hostGuard', () => {
  const loopback = hostGuard({ bindHost: '127.0.0.1' });

  it('on a loopback bind, accepts the loopback names with any port, and no Origin', () => {
    for (const host of ['localhost', 'localhost:8080', '127.0.0.1:1', '[::1]:9000', '[::1]']) expect(loopback({ host }), host).toBeUndefined();
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1', 'https://[::1]:8443']) expect(loopback({ host: 'localhost', origin }), origin).toBeUndefined();
  });

  it('refuses other names, with what to do', () => {
    expect(loopback({ host: 'evil.example.com' })).toMatch(/Host header "evil.example.com".*mcp.allowedHosts/);
    expect(loopback({})).toMatch(/\(missing\)/);
    expect(loopback({ host: 'localhost', origin: 'http://evil.example.com' })).toMatch(/origin "http:\/\/evil.example.com".*mcp.allowedOrigins/);
    expect(loopback({ host: 'localhost', origin: 'not a url' })).toMatch(/not a valid origin/);
    expect(loopback({ host: 'localhost.evil.example.com' })).toBeDefined();
  });

  it('accepts what the allow-lists name', () => {
    const guard = hostGuard({ bindHost: 'localhost', allowedHosts: ['mcp.internal', 'box:8080'], allowedOrigins: ['https://app.example.com', 'tools.example.com'] });
    expect(guard({ host: 'mcp.internal:9999' })).toBeUndefined();
    expect(guard({ host: 'box:8080' })).toBeUndefined();
    expect(guard({ host: 'localhost', origin: 'https://app.example.com' })).toBeUndefined();
    expect(guard({ host: 'localhost', origin: 'http://app.example.com' })).toBeDefined();
    expect(guard({ host: 'localhost', origin: 'https://tools.example.com:444' })).toBeUndefined();
  });

  it('is off for other binds unless an allow-list is given or it is forced on, and can be forced off', () => {
    expect(hostGuard({ bindHost: '0.0.0.0' })({ host: 'anything.example.com', origin: 'https://x.example.com' })).toBeUndefined();
    expect(hostGuard({ bindHost: '0.0.0.0', allowedHosts: ['api.example.com'] })({ host: 'other.example.com' })).toBeDefined();
    expect(hostGuard({ bindHost: '0.0.0.0', enabled: true })({ host: 'api.example.com' })).toBeDefined();
    expect(hostGuard({ bindHost: '127.0.0.1', enabled: false })({ host: 'evil.example.com' })).toBeUndefined();
  });
});
