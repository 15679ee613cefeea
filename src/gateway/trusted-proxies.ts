/**
 * Which callers the gateway believes about who the client is. A proxy in front of the gateway says
 * so in Forwarded and the X-Forwarded-* headers; any other caller can write whatever it likes
 * there, and an app that took it on trust (for its logs, its rate limits, the links it builds)
 * would be lied to. So those headers are passed on from the proxies given here only.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.ts';

/** A caller's address: is it one of the trusted proxies? */
export type TrustsProxy = (address: string) => boolean;

const trustsNone: TrustsProxy = () => false;

/** `entries`: addresses or CIDR ranges (`10.0.0.7`, `10.0.0.0/8`, `::1`, `fd00::/8`). */
export function trustedProxies(entries: readonly string[] | undefined): TrustsProxy {
  if (!entries?.length) return trustsNone;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const version = isIP(address);
    const type = version === 6 ? 'ipv6' : 'ipv4';
    // NaN for a prefix that is not digits, which no range takes.
    const bits = prefix === undefined ? undefined : /^\d+$/.test(prefix) ? Number(prefix) : NaN;
    if (!version || extra !== undefined || (bits !== undefined && !(bits <= (version === 6 ? 128 : 32)))) {
      throw new ConfigError(
        `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range; give addresses such as "10.0.0.7" or "::1", or ranges such as "10.0.0.0/8".`,
      );
    }
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return (address) => {
    // An IPv4 caller of a dual-stack listener shows as ::ffff:a.b.c.d.
    const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : undefined;
    return v4 ? list.check(v4, 'ipv4') : list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  };
}
