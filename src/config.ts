/**
 * Settings: defaults, then a config file (YAML or JSON, named by TASKMESH_CONFIG), then single
 * environment variables. Later sources win. Read on demand and cached per file, so tests and
 * launched children can change the environment.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { yaml } from './lazy.ts';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

export const DEFAULT_URL = 'http://localhost:8000';

const FileConfigSchema = z.strictObject({
  defaultUrl: z.string().optional(),
  /** Per-service settings keyed by class name, e.g. `{ EchoService: { url: 'http://localhost:8080' } }`. */
  services: z.record(z.string(), z.strictObject({ url: z.string() })).optional(),
  pidDir: z.string().optional(),
  logDir: z.string().optional(),
  mcp: z.strictObject({ mountPath: z.string().optional(), appPath: z.string().optional() }).optional(),
});

export type FileConfig = z.infer<typeof FileConfigSchema>;

export interface Settings {
  defaultUrl: string;
  serviceUrls: Record<string, string>;
  pidDir: string;
  logDir: string;
  mcpMountPath: string;
  mcpAppPath: string;
}

type Env = Record<string, string | undefined>;

const fileCache = new Map<string, FileConfig>();

function readConfigFile(path: string): FileConfig {
  const cached = fileCache.get(path);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`TASKMESH_CONFIG names ${path}, which cannot be read (${(error as Error).message}).`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : yaml().parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  const parsed = FileConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`Config file ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  fileCache.set(path, parsed.data);
  return parsed.data;
}

/** `EchoService` becomes `ECHO_SERVICE`, for TASKMESH_URL_ECHO_SERVICE. */
export function envKeyFor(className: string): string {
  return className
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

export function settings(env: Env = process.env): Settings {
  const file = env.TASKMESH_CONFIG ? readConfigFile(env.TASKMESH_CONFIG) : {};
  const cacheDir = join(homedir(), '.cache', 'taskmesh');
  const serviceUrls: Record<string, string> = {};
  for (const [name, s] of Object.entries(file.services ?? {})) serviceUrls[name] = s.url;
  return {
    defaultUrl: env.TASKMESH_DEFAULT_URL ?? file.defaultUrl ?? DEFAULT_URL,
    serviceUrls,
    pidDir: env.TASKMESH_PID_DIR ?? file.pidDir ?? join(cacheDir, 'pids'),
    logDir: env.TASKMESH_LOG_DIR ?? file.logDir ?? join(cacheDir, 'logs'),
    mcpMountPath: env.TASKMESH_MCP_MOUNT_PATH ?? file.mcp?.mountPath ?? '/mcp-server',
    mcpAppPath: env.TASKMESH_MCP_APP_PATH ?? file.mcp?.appPath ?? '/mcp',
  };
}

function parseUrl(value: string, where: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new ConfigError(`${where} is not an http(s) URL: "${value}". Write it like http://localhost:8080.`);
  }
}

/**
 * The default URL of a service class: TASKMESH_URL_<CLASS_NAME> from the environment, else
 * `services.<ClassName>.url` from the config file, else the global default URL.
 */
export function defaultUrlFor(className?: string, env: Env = process.env): string {
  const s = settings(env);
  if (className) {
    const fromEnv = env[`TASKMESH_URL_${envKeyFor(className)}`];
    if (fromEnv) return normalizeUrl(parseUrl(fromEnv, `TASKMESH_URL_${envKeyFor(className)}`).href);
    const fromFile = s.serviceUrls[className];
    if (fromFile) return normalizeUrl(parseUrl(fromFile, `services.${className}.url in the config file`).href);
  }
  return normalizeUrl(parseUrl(s.defaultUrl, 'The default URL').href);
}

export interface UrlParts {
  url?: string | URL | undefined;
  host?: string | undefined;
  port?: number | undefined;
}

/**
 * URL priority: an explicit `url`; else `host`/`port` laid over the default URL (either may be
 * given alone); else the default URL for the class.
 */
export function buildUrl(parts: UrlParts = {}, className?: string, env: Env = process.env): string {
  if (parts.url !== undefined) return normalizeUrl(parseUrl(String(parts.url), 'url').href);
  const base = new URL(defaultUrlFor(className, env));
  if (parts.host !== undefined) base.hostname = parts.host.includes(':') && !parts.host.startsWith('[') ? `[${parts.host}]` : parts.host;
  if (parts.port !== undefined) {
    if (!Number.isInteger(parts.port) || parts.port < 0 || parts.port > 65535) {
      throw new ConfigError(`port must be an integer from 0 to 65535, got ${parts.port}.`);
    }
    base.port = String(parts.port);
  }
  return normalizeUrl(base.href);
}

/** URLs without a trailing slash, so that `${url}/${path}` is always right. */
export function normalizeUrl(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/** Is this hostname a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h === '::ffff:127.0.0.1' || /^::ffff:127\./.test(h);
}

/** Where a service serves MCP: the mount path plus the app path from the settings (`/mcp-server/mcp` by default). */
export function mcpPath(): string {
  const { mcpMountPath, mcpAppPath } = settings();
  const joined = `/${mcpMountPath}/${mcpAppPath}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** The MCP endpoint of the service at `serviceUrl`. */
export function mcpUrl(serviceUrl: string): string {
  return `${serviceUrl.replace(/\/$/, '')}${mcpPath()}`;
}
