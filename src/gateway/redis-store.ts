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
 *
 * A registry that vanished from Redis (a restart without persistence, a flush) shows as a counter
 * gone or gone back, which never happens otherwise. The replica that notices (reading again when
 * its connection comes back, at its next check, or in the reply to its own change) writes back the
 * apps it knew, in one script: an app registered on the emptied Redis meanwhile stays as it is, and
 * the counter goes past every replica's, so that all of them read the registry again.
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

/** KEYS: the hash, the counter. ARGV: the lowest counter to leave, then name and record pairs, each written unless its name is there. */
const RESTORE = `for i = 2, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1]) end
return 1`;

function recordsOf(hash: Record<string, string>): AppRecord[] {
  return Object.values(hash)
    .map((text) => JSON.parse(text) as AppRecord)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function redisStore(options: RedisStoreOptions): RegistryStore {
  const hash = `${options.key}:apps`;
  const versionKey = `${options.key}:version`;
  /** The counter as of the records this replica last read, and those records. */
  let seen: string | null = null;
  let known: AppRecord[] = [];
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
  const read = async (client: RedisClient): Promise<[Record<string, string>, string | null]> => (await client.multi().hGetAll(hash).get(versionKey).exec()) as unknown as [Record<string, string>, string | null];
  /** Keep what was read as this replica's copy. */
  const took = (all: Record<string, string>, version: string | null): AppRecord[] => {
    seen = version;
    known = recordsOf(all);
    return known.slice();
  };
  /**
   * Whether the registry vanished since this replica last read it: a counter gone, or gone back
   * (`after` a change of its own: not past the one it read).
   */
  const lost = (version: string | null, after = false): boolean =>
    seen !== null && known.length > 0 && (version === null || Number(version) < Number(seen) + (after ? 1 : 0));
  /** Write back this replica's copy (but `except`, just changed), and read the registry again. */
  const restore = async (client: RedisClient, except?: string): Promise<AppRecord[]> => {
    const back = known.filter((record) => record.name !== except);
    const pairs = back.flatMap((record) => [record.name, JSON.stringify(record)]);
    await client.eval(RESTORE, { keys: [hash, versionKey], arguments: [String(Number(seen) + 1), ...pairs] });
    options.onError(new Error(`The gateway's registry was gone from Redis at ${where} (a restart without persistence, or a flush): this replica wrote back the ${back.length} app(s) it knew.`));
    await client.publish(channel, 'changed').catch(options.onError);
    return took(...(await read(client)));
  };
  const unavailable = (error: unknown): RegistryUnavailableError =>
    new RegistryUnavailableError(`The gateway's registry in Redis at ${where} cannot be reached (${(error as Error).message}); the change was not made. Retry once Redis is back.`);

  return {
    description: `Redis at ${where}, key ${options.key}`,
    async load() {
      const { client } = await connect();
      const [all, version] = await read(client);
      return lost(version) ? restore(client) : took(all, version);
    },
    async apply(change: RecordChange) {
      const { client } = await connect();
      const name = 'put' in change ? change.put.name : change.remove;
      const write = 'put' in change ? client.multi().hSet(hash, name, JSON.stringify(change.put)) : client.multi().hDel(hash, name);
      const [count, version, all] = (await write
        .incr(versionKey)
        .hGetAll(hash)
        .exec()
        .catch((error: unknown) => {
          throw unavailable(error);
        })) as unknown as [number, number, Record<string, string>];
      if (lost(String(version), true)) {
        // An app this replica knew is gone with the rest: removing it changed the registry all the same.
        const changed = 'put' in change || known.some((record) => record.name === name);
        return { records: await restore(client, name), changed };
      }
      const changed = 'put' in change || Number(count) > 0;
      const records = took(all, String(version));
      // The change is made; a notice that cannot go out now is made up for by the others' version check.
      if (changed) await client.publish(channel, 'changed').catch(options.onError);
      return { records, changed };
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
