/**
 * Health of the gateway's apps: each check asks the app's heartbeat and, when the app is new or
 * restarted (another server id), its `detailed_endpoints`, each on a connection of its own (see
 * client/liveness.ts): an app is Down only when a fresh connection is refused or dropped three
 * times, never because a kept-alive socket of its forwarding pool was reset. Checks run at an
 * interval and on demand for the gateway's own heartbeat.
 */
import { CallTimeoutError, ErrorCodes, ServiceCallError, TaskmeshError } from '../errors.ts';
import { probe, probeSettled, type Probe } from '../client/liveness.ts';
import type { EndpointDetail, Heartbeat } from '../protocol.ts';
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

/** A reply that came, but is not the built-in's (a 404 from a plain HTTP server, another shape). */
function answeredOtherwise(error: unknown): error is TaskmeshError {
  return error instanceof ServiceCallError || (error instanceof TaskmeshError && error.code === ErrorCodes.INVALID_OUTPUT);
}

/** The heartbeat the gateway reports for an app that gave none. */
function reported(app: UpstreamApp, status: AppHeartbeat['status'], what: string): AppHeartbeat {
  return { status, server_id: null, message: `App "${app.name}" at ${app.url} ${what}.`, details: null };
}

function heartbeatOf(app: UpstreamApp, probed: Probe<{ heartbeat: Heartbeat }>): AppHeartbeat {
  if (probed.kind === 'answered') return probed.reply.heartbeat;
  // The listener is closed, yet calls the gateway forwarded are still being answered on
  // connections opened before: the app is draining them before it stops.
  const inFlight = app.pool.stats.running + app.uploadPool.stats.running;
  if (inFlight > 0) {
    return reported(app, 'Stopping', `takes no new connections, but still answers ${inFlight === 1 ? '1 call' : `${inFlight} calls`} the gateway forwarded: it is stopping`);
  }
  const cause = (probed.error.cause as { code?: string; message?: string } | undefined) ?? {};
  return reported(app, 'Down', `is down: ${probed.kind === 'refused' ? `connection refused (${cause.code ?? cause.message})` : 'it closes new connections without an answer'}`);
}

async function askHeartbeat(app: UpstreamApp, timeout: number): Promise<AppHeartbeat> {
  // One deadline for the whole check, connecting and asking again included.
  const signal = AbortSignal.timeout(timeout);
  try {
    return heartbeatOf(app, await probeSettled(app.url, 'heartbeat', { timeout, signal }));
  } catch (error) {
    if (error instanceof CallTimeoutError) return reported(app, 'Down', `is down: no answer within ${timeout} ms`);
    if (!answeredOtherwise(error)) throw error;
    // It answers HTTP but is not a taskmesh service: reachability is all the gateway can tell.
    return reported(app, 'Available', `answers, but has no taskmesh heartbeat (${error.message})`);
  }
}

async function askEndpoints(app: UpstreamApp, timeout: number): Promise<Record<string, EndpointDetail> | undefined> {
  try {
    const probed = await probe(app.url, 'detailed_endpoints', { timeout });
    return probed.kind === 'answered' ? probed.reply.endpoints : undefined;
  } catch (error) {
    // Learned at a later check; only the heartbeat decides the app's health.
    if (error instanceof TaskmeshError) return undefined;
    throw error;
  }
}

/** Check one app now, record the result in the registry, and return its heartbeat. */
export async function checkApp(registry: AppRegistry, app: UpstreamApp, timeout: number): Promise<AppHeartbeat> {
  const checkedAt = new Date().toISOString();
  const heartbeat = await askHeartbeat(app, timeout);
  const health: AppHealth = { status: heartbeat.status, server_id: heartbeat.server_id, message: heartbeat.message, checked_at: checkedAt };
  let endpoints: Record<string, EndpointDetail> | undefined;
  const restarted = heartbeat.server_id !== null && heartbeat.server_id !== app.health.server_id;
  if (heartbeat.server_id !== null && (restarted || Object.keys(app.endpoints).length === 0)) {
    endpoints = await askEndpoints(app, timeout);
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
