/**
 * DNS rebinding protection for the MCP endpoint. A web page can make a browser send requests to a
 * service on the user's loopback interface under a name the attacker controls; checking Host (and
 * Origin, when a browser sends one) against the names the service is known by stops that. On by
 * default for services bound to loopback, and wherever an allow-list is configured.
 */
import { isLoopbackHost } from '../../config.ts';

export interface GuardOptions {
  /** The host the service listens on. */
  bindHost: string;
  /** Force the protection on or off; by default on for loopback binds and when an allow-list is given. */
  enabled?: boolean | undefined;
  /** Extra Host names (with or without port) accepted besides the loopback ones. */
  allowedHosts?: string[] | undefined;
  /** Extra browser origins (`https://app.example.com`) or host names accepted besides the loopback ones. */
  allowedOrigins?: string[] | undefined;
}

/** Host header value without its port; `[::1]:8080` becomes `::1`. */
function hostnameOf(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']') > 0 ? trimmed.indexOf(']') : undefined);
  const colon = trimmed.lastIndexOf(':');
  return colon > 0 ? trimmed.slice(0, colon) : trimmed;
}

/** Returns a check that answers with the reason to refuse a request, or undefined to let it through. */
export function hostGuard(options: GuardOptions): (headers: Record<string, string | string[] | undefined>) => string | undefined {
  const allowedHosts = (options.allowedHosts ?? []).map((h) => h.trim().toLowerCase());
  const allowedOrigins = (options.allowedOrigins ?? []).map((o) => o.trim().toLowerCase().replace(/\/$/, ''));
  const enabled = options.enabled ?? (isLoopbackHost(options.bindHost) || allowedHosts.length > 0 || allowedOrigins.length > 0);
  if (!enabled) return () => undefined;
  const hostAllowed = (host: string): boolean => isLoopbackHost(hostnameOf(host)) || allowedHosts.includes(host.toLowerCase()) || allowedHosts.includes(hostnameOf(host));
  return (headers) => {
    const host = headers.host;
    if (typeof host !== 'string' || !hostAllowed(host)) {
      return `Refused: the Host header ${typeof host === 'string' ? `"${host}"` : '(missing)'} is not a name of this MCP server (DNS rebinding protection). If the name is yours, add it to the service's mcp.allowedHosts option.`;
    }
    const origin = headers.origin;
    if (typeof origin !== 'string') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return `Refused: the Origin header "${origin}" is not a valid origin.`;
    }
    const normalized = parsed.origin.toLowerCase();
    if (isLoopbackHost(parsed.hostname) || allowedOrigins.includes(normalized) || allowedOrigins.includes(parsed.hostname.toLowerCase())) return undefined;
    return `Refused: requests from the origin "${origin}" are not allowed (DNS rebinding protection). If that site is yours, add it to the service's mcp.allowedOrigins option.`;
  };
}
