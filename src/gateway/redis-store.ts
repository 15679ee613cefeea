/**
 * A gateway registry in Redis, shared by every gateway replica given the same URL and key: the
 * records in one hash (`<key>:apps`, a field per app), a counter bumped by every change
 * (`<key>:version`), and a notice on `<key>:changed` after each change, which every replica hears
 * (and then reads the hash). A change, the bump and the read of the records after it are one MULTI,
 * so each reply shows the registry as it was right after that change.
 *
 * Pub/sub notices are lost while a replica is cut off, so each replica also compares the counter
 * with the one it last read, every second, and reads the hash again when they differ: a missed
 * notice delays a change by a second at most. Registering fails at once, changing nothing, while
 * Redis is unreachable; forwarding goes on from each replica's in-memory copy.
 */
import { RegistryUnavailableError } from '../errors.ts';
import { closeRedis, connectRedis, redactedRedisUrl, type RedisClient } from '../redis.ts';
import type { AppRecord, RecordChange, RegistryStore } from './registry.ts';

export interface RedisStoreOptions {
  url: string;
  /** Prefix of the keys; replicas that share a registry share it. */
  key: string;
  /** Where connection trouble after start is reported. */
  onError: (error: Error) => void;
}

/** How often a replica checks that it has not missed a change. */
const POLL_MS = 1_000;

function recordsOf(hash: Record<string, string>): AppRecord[] {
  return Object.values(hash)
    .map((text) => JSON.parse(text) as AppRecord)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function redisStore(options: RedisStoreOptions): RegistryStore {
  const hash = `${options.key}:apps`;
  const versionKey = `${options.key}:version`;
  /** The counter as of the records this replica last read. */
  let seen: string | null = null;
  let poll: NodeJS.Timeout | undefined;
  const channel = `${options.key}:changed`;
  const where = redactedRedisUrl(options.url);
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const watcher of watchers) watcher();
  };
  let clients: Promise<{ client: RedisClient; subscriber: RedisClient }> | undefined;
  const connect = (): Promise<{ client: RedisClient; subscriber: RedisClient }> =>
    (clients ??= (async () => {
      const client = await connectRedis(options.url, options.onError);
      try {
        const subscriber = await connectRedis(options.url, options.onError);
        await subscriber.subscribe(channel, notify);
        // Changes made while this replica was cut off were announced to nobody here: read the hash
        // again once both connections are back (a read before the reading one is back fails).
        client.on('ready', notify);
        subscriber.on('ready', notify);
        poll = setInterval(() => {
          client.get(versionKey).then((version) => version !== seen && notify(), () => {});
        }, POLL_MS).unref();
        return { client, subscriber };
      } catch (error) {
        await closeRedis(client);
        throw error;
      }
    })().catch((error: unknown) => {
      clients = undefined;
      throw error;
    }));
  const unavailable = (error: unknown): RegistryUnavailableError =>
    new RegistryUnavailableError(`The gateway's registry in Redis at ${where} cannot be reached (${(error as Error).message}); the change was not made. Retry once Redis is back.`);

  return {
    description: `Redis at ${where}, key ${options.key}`,
    async load() {
      const { client } = await connect();
      const [all, version] = await client.multi().hGetAll(hash).get(versionKey).exec();
      seen = version as unknown as string | null;
      return recordsOf(all as unknown as Record<string, string>);
    },
    async apply(change: RecordChange) {
      const { client } = await connect();
      const write = 'put' in change ? client.multi().hSet(hash, change.put.name, JSON.stringify(change.put)) : client.multi().hDel(hash, change.remove);
      const [count, version, all] = await write
        .incr(versionKey)
        .hGetAll(hash)
        .exec()
        .catch((error: unknown) => {
          throw unavailable(error);
        });
      const changed = 'put' in change || Number(count) > 0;
      seen = String(version);
      // The change is made; a notice that cannot go out now is made up for by the others' version check.
      if (changed) await client.publish(channel, 'changed').catch(options.onError);
      return { records: recordsOf(all as unknown as Record<string, string>), changed };
    },
    watch(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
    async close() {
      clearInterval(poll);
      const open = clients;
      clients = undefined;
      const connected = await open?.catch(() => undefined);
      await Promise.all([closeRedis(connected?.client), closeRedis(connected?.subscriber)]);
    },
  };
}
