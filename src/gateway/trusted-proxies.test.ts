import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { Gateway } from './gateway.ts';
import { trustedProxies } from './trusted-proxies.ts';

describe('trustedProxies', () => {
  it('trusts no caller when given none', () => {
    for (const none of [undefined, []]) expect(trustedProxies(none)('127.0.0.1')).toBe(false);
  });

  it('trusts the addresses and ranges given, IPv4 callers of a dual-stack listener included', () => {
    const trusts = trustedProxies(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
    for (const address of ['10.1.2.3', '::ffff:10.1.2.3', '192.168.1.7', '::1', 'fd12::5']) expect(trusts(address), address).toBe(true);
    for (const address of ['11.0.0.1', '192.168.1.8', '::ffff:192.168.1.8', '::2', 'fe80::1', 'unknown']) expect(trusts(address), address).toBe(false);
  });

  it('refuses what is not an address or a range, naming it, when the gateway is made', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/1', '::1/129', '']) {
      expect(() => trustedProxies([bad]), bad).toThrow(ConfigError);
      expect(() => new Gateway({ trustedProxies: [bad] }), bad).toThrow(`trustedProxies: ${JSON.stringify(bad)} is not an IP address or CIDR range`);
    }
  });
});
