/**
 * MCP change events between replicas of a service, over Redis pub/sub: a `ServerEventBus` for the
 * `mcp.events` option. A tool added in one replica, or a resource updated, then reaches the clients
 * connected to every replica. Every replica given the same URL and channel shares the events.
 */
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { closeRedis, connectRedis } from '../redis.ts';

export interface RedisEventBusOptions {
  /** The pub/sub channel; replicas that share events share it. `taskmesh:mcp-events` by default. */
  channel?: string;
  /** Where a failed delivery or connection trouble is reported; stderr by default. */
  onError?: (error: Error) => void;
}

export interface RedisEventBus extends ServerEventBus {
  /** Close its connections (once the services using it have stopped). */
  close(): Promise<void>;
}

/** Connect to Redis at `url` and give a bus over it. Rejects, naming the URL, when Redis cannot be reached. */
export async function redisEventBus(url: string, options: RedisEventBusOptions = {}): Promise<RedisEventBus> {
  const channel = options.channel ?? 'taskmesh:mcp-events';
  const onError = options.onError ?? ((error: Error) => process.stderr.write(`taskmesh: MCP events over Redis: ${error.message}\n`));
  const listeners = new Set<(event: ServerEvent) => void>();
  const publisher = await connectRedis(url, onError);
  let subscriber;
  try {
    subscriber = await connectRedis(url, onError);
    await subscriber.subscribe(channel, (message) => {
      let event: ServerEvent;
      try {
        event = JSON.parse(message) as ServerEvent;
      } catch (error) {
        onError(new Error(`a message on ${channel} is not an event: ${(error as Error).message}`));
        return;
      }
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          onError(error as Error);
        }
      }
    });
  } catch (error) {
    await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    throw error;
  }
  const connected = subscriber;
  return {
    // Delivered to every subscriber, this process's included, when Redis passes it back.
    publish(event) {
      publisher.publish(channel, JSON.stringify(event)).catch(onError);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      await Promise.all([closeRedis(publisher), closeRedis(connected)]);
    },
  };
}
