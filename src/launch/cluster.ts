/**
 * numWorkers > 1: the launched process becomes a node cluster primary. It picks the port (so that
 * port 0 gives every worker the same real port), forks the workers with one shared server id,
 * reports ready once all of them serve, replaces a worker that dies, and stops the whole group when
 * any worker is shut down through its endpoint, or when the group is signalled.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isMessage, WORKER_ROLE_ENV, type ChildMessage, type LaunchSpec, type PrimaryMessage, type WorkerMessage } from './messages.ts';
import { failureMessage, sendThen, startService } from './serve.ts';
import { serveClusterRegistry } from '../gateway/cluster-store.ts';
import { relayMcpSignal } from '../mcp/events.ts';
import { announceWorkerGone, relayMcpStream, STREAM_RELAY_ENV } from '../mcp/http/stream-relay.ts';
import { SESSION_SECRET_ENV } from '../mcp/session-id.ts';

/** Give up on workers that do not stop gracefully after this long. */
const STOP_GRACE_MS = 30_000;
/** A replacement that fails at once is retried after this pause, not in a tight loop. */
const RESPAWN_DELAY_MS = 1_000;

/** One JSON log line, shaped like the workers' pino lines so the log file reads as one stream. */
function log(level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
  const levels = { info: 30, warn: 40, error: 50 };
  process.stdout.write(`${JSON.stringify({ level: levels[level], time: Date.now(), pid: process.pid, role: 'primary', ...extra, msg })}\n`);
}

async function freePort(hostname: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: hostname, port: 0 }, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error(`could not pick a free port on ${hostname}`);
  return address.port;
}

export async function runPrimary(spec: LaunchSpec): Promise<void> {
  // Reports to the launcher go out before the primary exits: finish() waits for the last one.
  let reported = Promise.resolve();
  const report = (message: ChildMessage): void => {
    reported = reported.then(() => new Promise<void>((resolve) => sendThen(message, resolve)));
  };
  const url = new URL(spec.url);
  if (url.port === '0') url.port = String(await freePort(url.hostname.replace(/^\[|\]$/g, '')));
  const workerSpec: LaunchSpec = { ...spec, url: url.href.replace(/\/$/, '') };
  const serverId = randomUUID();
  // One key signs every worker's 2025-era MCP session ids, so that any worker serves any session.
  const mcpSessionSecret = process.env[SESSION_SECRET_ENV] ?? randomBytes(32).toString('base64url');
  const ready = new Set<Worker>();
  let groupReady = false;
  let stopping = false;

  const fork = (): void => {
    const worker = cluster.fork({ [WORKER_ROLE_ENV]: 'worker', [STREAM_RELAY_ENV]: '1' });
    worker.send({ type: 'spec', spec: workerSpec, serverId, mcpSessionSecret } satisfies PrimaryMessage);
    worker.on('message', (message: unknown) => {
      // MCP list changes and session endings made in one worker reach the clients of the others.
      if (relayMcpSignal(worker, message)) return;
      // A session's stream resumed in another worker than the one that holds it.
      if (relayMcpStream(worker, message)) return;
      // A gateway's workers share one registry, kept here.
      if (serveClusterRegistry(worker, message)) return;
      if (!isMessage<WorkerMessage>(message)) return;
      if (message.type === 'ready') onReady(worker, message.url);
      else if (message.type === 'failed') onFailed(worker, message);
      else if (message.type === 'group-shutdown') stopGroup('a worker was shut down');
    });
  };

  const onReady = (worker: Worker, workerUrl: string): void => {
    ready.add(worker);
    if (groupReady) {
      log('info', `replacement worker ${worker.process.pid} serves`, { worker: worker.process.pid });
      return;
    }
    if (ready.size < spec.numWorkers) return;
    groupReady = true;
    writeFileSync(spec.pidFile, `${process.pid}\n`);
    log('info', `${spec.numWorkers} workers serve ${workerUrl}`, { url: workerUrl, serverId });
    report({ type: 'ready', url: workerUrl, serverId, pid: process.pid });
  };

  const onFailed = (worker: Worker, message: Extract<ChildMessage, { type: 'failed' }>): void => {
    if (groupReady) {
      log('error', `replacement worker ${worker.process.pid} failed to start: ${message.message}`);
      return;
    }
    // A worker that cannot start means none can: report it, and take the group down.
    stopping = true;
    report(message);
    for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
    process.exitCode = 1;
  };

  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker);
    announceWorkerGone(worker);
    if (stopping) {
      if (allDead()) finish();
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!groupReady) {
      stopping = true;
      report({ type: 'failed', stage: 'worker', message: `worker ${worker.process.pid} exited with ${how} before it served` });
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
      process.exitCode = 1;
      return;
    }
    log('warn', `worker ${worker.process.pid} died (${how}); starting a replacement`, { worker: worker.process.pid, code, signal });
    if (wasReady) fork();
    else setTimeout(() => !stopping && fork(), RESPAWN_DELAY_MS).unref();
  });

  const stopGroup = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `stopping all workers: ${why}`);
    // SIGTERM: a serving worker drains and stops; one still starting has nothing to drain and just ends.
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
    if (allDead()) finish();
  };

  // Not "no workers left": cluster.workers keeps a worker whose exit came before its channel's
  // disconnect until that disconnect, and then no exit event would follow to finish on.
  const allDead = (): boolean => Object.values(cluster.workers ?? {}).every((worker) => !worker || worker.isDead());

  const finish = (): void => {
    if (groupReady) rmSync(spec.pidFile, { force: true });
    if (groupReady) log('info', 'all workers stopped');
    void reported.then(() => process.exit(process.exitCode ?? 0));
  };

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stopGroup(`${signal} received`));
  for (let i = 0; i < spec.numWorkers; i++) fork();
  if (!spec.detached) {
    if (process.connected) process.on('disconnect', () => stopGroup('the launching process went away'));
    else stopGroup('the launching process went away');
  }
}

/** A cluster worker: serve until signalled; a shutdown through its endpoint stops the whole group. */
export function runWorker(): void {
  process.once('message', (message: unknown) => {
    if (!isMessage<PrimaryMessage>(message) || message.type !== 'spec') return;
    // In memory, like the admin token: not in the worker's environment block, which `ps e` shows.
    process.env[SESSION_SECRET_ENV] = message.mcpSessionSecret;
    startService(message.spec, { serverId: message.serverId, writePidFile: false }).then(
      ({ service, url }) => {
        process.send?.({ type: 'ready', url, serverId: service.serverId, pid: process.pid } satisfies WorkerMessage);
        for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void service.stop());
        // However it went down, tell the primary; when the group is already stopping it ignores this.
        void service.whenDown().then(() => sendThen({ type: 'group-shutdown' } satisfies WorkerMessage, () => process.exit(0)));
      },
      (error: unknown) => sendThen(failureMessage(error), () => process.exit(1)),
    );
  });
}
