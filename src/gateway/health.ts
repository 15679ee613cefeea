/**
 * Health of the gateway's apps: each check asks the app's heartbeat (POST, as the reference's
 * services also accept) and, when the app is new or restarted (another server id), its
 * `detailed_endpoints`. Checks run at an interval and on demand for the gateway's own heartbeat.
 */
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { EndpointDetailSchema, HeartbeatSchema, type EndpointDetail, type Heartbeat } from '../protocol.ts';
import type { AppHealth } from './contract.ts';
import type { AppRegistry, UpstreamApp } from './registry.ts';

export interface HealthOptions {
  /** Milliseconds between checks of every app; 0 turns the periodic checks off. */
  interval: number;
  /** Milliseconds an app has to answer a check. */
  timeout: number;
}

/** An app's heartbeat as the gateway reports it: the app's own, or Down with why. */
export type AppHeartbeat = Omit<Heartbeat, 'server_id'> & { server_id: string | null };

const DetailedEndpointsSchema = z.object({ endpoints: z.record(z.string(), EndpointDetailSchema) });

type Reply = { ok: true; status: number; body: unknown } | { ok: false; reason: string };

async function post(app: UpstreamApp, path: string, timeout: number): Promise<Reply> {
  let response: Dispatcher.ResponseData;
  // One deadline for the whole check, connecting included (a host that drops packets would
  // otherwise hold it for the connect timeout).
  const signal = AbortSignal.timeout(timeout);
  try {
    response = await app.pool.request({ method: 'POST', path: `${app.basePath}/${path}`, headers: { accept: 'application/json' }, signal });
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, reason: signal.aborted ? `no answer within ${timeout} ms` : `unreachable (${code ?? (error as Error).message})` };
  }
  try {
    const text = await response.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { ok: true, status: response.statusCode, body };
  } catch (error) {
    return { ok: false, reason: signal.aborted ? `no whole answer within ${timeout} ms` : `the reply broke off (${(error as Error).message})` };
  }
}

/** Check one app now, record the result in the registry, and return its heartbeat. */
export async function checkApp(registry: AppRegistry, app: UpstreamApp, timeout: number): Promise<AppHeartbeat> {
  const checkedAt = new Date().toISOString();
  const reply = await post(app, 'heartbeat', timeout);
  let heartbeat: AppHeartbeat;
  if (!reply.ok) {
    heartbeat = { status: 'Down', server_id: null, message: `App "${app.name}" at ${app.url} is down: ${reply.reason}.`, details: null };
  } else {
    const parsed = reply.status < 300 ? HeartbeatSchema.safeParse((reply.body as { heartbeat?: unknown } | undefined)?.heartbeat) : undefined;
    heartbeat = parsed?.success
      ? parsed.data
      : {
          // It answers HTTP but is not a taskmesh service: reachability is all the gateway can tell.
          status: 'Available',
          server_id: null,
          message: `App "${app.name}" at ${app.url} answers, but has no taskmesh heartbeat (POST /heartbeat gave ${reply.status}).`,
          details: null,
        };
  }
  const health: AppHealth = { status: heartbeat.status, server_id: heartbeat.server_id, message: heartbeat.message, checked_at: checkedAt };
  let endpoints: Record<string, EndpointDetail> | undefined;
  const restarted = heartbeat.server_id !== null && heartbeat.server_id !== app.health.server_id;
  if (heartbeat.server_id !== null && (restarted || Object.keys(app.endpoints).length === 0)) {
    const details = await post(app, 'detailed_endpoints', timeout);
    const parsed = details.ok && details.status < 300 ? DetailedEndpointsSchema.safeParse(details.body) : undefined;
    if (parsed?.success) endpoints = parsed.data.endpoints;
  }
  registry.update(app, health, endpoints);
  return heartbeat;
}

/** Check every app at once; results keyed by app name. */
export async function checkAll(registry: AppRegistry, timeout: number): Promise<Record<string, AppHeartbeat>> {
  const apps = registry.apps();
  const results = await Promise.all(apps.map((app) => checkApp(registry, app, timeout)));
  return Object.fromEntries(apps.map((app, i) => [app.name, results[i]!]));
}

/** Periodic checks; a run that is still going when the next is due makes that one skip. */
export class HealthMonitor {
  readonly #registry: AppRegistry;
  readonly #options: HealthOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(registry: AppRegistry, options: HealthOptions) {
    this.#registry = registry;
    this.#options = options;
  }

  start(): void {
    if (this.#options.interval <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = checkAll(this.#registry, this.#options.timeout).finally(() => (this.#running = undefined));
    }, this.#options.interval);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }
}
