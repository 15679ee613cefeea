/**
 * Redis, for what replicas of a service share: a gateway's registry, MCP change events. The client
 * (`@redis/client`) is an optional peer dependency, loaded only when a Redis URL is configured.
 *
 * A client fails fast: it refuses to start when Redis cannot be reached, and commands fail at once
 * while the connection is down (rather than waiting in a queue), so a caller hears of it in time;
 * it reconnects in the background.
 */
import { ConfigError } from './errors.ts';

type RedisModule = typeof import('@redis/client');

/** A Redis URL with its password hidden, for messages and logs. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href.replace(/\/$/, '');
  } catch {
    return '(an unparsable Redis URL)';
  }
}

async function loadRedis(): Promise<RedisModule> {
  try {
    return await import('@redis/client');
  } catch (error) {
    throw new ConfigError(`A Redis URL is configured, but the Redis client is not installed: run \`npm install @redis/client\` (${(error as Error).message}).`);
  }
}

function newClient(createClient: RedisModule['createClient'], url: string, connected: () => boolean) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // At start, one failure is the answer; once connected, keep trying, up to every 2 s.
      reconnectStrategy: (retries, cause) => (connected() ? Math.min(50 * 2 ** retries, 2_000) : cause),
    },
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/** A connected client. Rejects with a ConfigError naming the URL when Redis cannot be reached. */
export async function connectRedis(url: string, onError: (error: Error) => void): Promise<RedisClient> {
  const { createClient } = await loadRedis();
  let connected = false;
  const client = newClient(createClient, url, () => connected);
  client.on('error', (error: Error) => {
    if (connected) onError(error);
  });
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw new ConfigError(`Cannot reach Redis at ${redactedRedisUrl(url)} (${(error as Error).message}). Start Redis there, or fix the URL.`);
  }
  connected = true;
  return client;
}

/** Close a client, waiting for its replies; destroy it when Redis is gone. */
export async function closeRedis(client: RedisClient | undefined): Promise<void> {
  if (!client) return;
  if (client.isReady) await client.close().catch(() => client.destroy());
  else client.destroy();
}
