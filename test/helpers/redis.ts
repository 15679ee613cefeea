// A real Redis server for the tests that share state through one: Debian's redis-server on a free
// loopback port, its data in a temporary folder (append-only, so that a restart keeps it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { waitFor } from './processes.ts';

export interface RedisServer {
  url: string;
  /** Stop the server (its data stays on disk). */
  stop(): Promise<void>;
  /** Start it again on the same port, with the data it had (nothing when it runs). */
  start(): Promise<void>;
  /** Restart it with no data, as a server without persistence comes back. */
  restartEmpty(): Promise<void>;
  /** Stop it for good and delete its data. */
  dispose(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket
      .once('connect', () => {
        socket.end();
        resolve(true);
      })
      .once('error', () => resolve(false));
  });
}

const MISSING = "redis-server is not installed (apt-get install redis-server; .ci/run installs it)";

/**
 * Whether a Redis server can be started here. The tests that need one are skipped without it, and
 * say why, except in CI (`CI` set), where .ci/run installs it and its absence is an error.
 */
export const hasRedisServer: boolean = (() => {
  const found = !spawnSync('redis-server', ['--version']).error;
  if (!found && process.env.CI) throw new Error(`The Redis tests cannot run: ${MISSING}.`);
  return found;
})();

/** The title suffix of a test skipped for want of Redis. */
export const needsRedis = hasRedisServer ? '' : ` (skipped: ${MISSING})`;

export async function startRedis(): Promise<RedisServer> {
  if (!hasRedisServer) throw new Error(`These tests need a Redis server: ${MISSING}.`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskmesh-redis-'));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
    await waitFor(() => answers(port), 10_000, `redis-server on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGTERM');
    await once(running, 'exit');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async restartEmpty() {
      await stop();
      for (const file of readdirSync(dir)) rmSync(join(dir, file), { recursive: true, force: true });
      await start();
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
