/**
 * MCP change events between replicas of a service, over Redis pub/sub: a `ServerEventBus` for the
 * `mcp.events` option. A tool added in one replica, or a resource updated, then reaches the clients
 * connected to every replica. Every replica given the same URL and channel shares the events. It
 * also carries the end of 2025-era sessions (a client's DELETE) on a channel beside it, so that no
 * replica rebuilds a session that a client ended through another.
 */
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { SessionClosings } from './events.ts';
import { closeRedis, connectRedis } from '../redis.ts';

export interface RedisEventBusOptions {
  /** The pub/sub channel; replicas that share events share it. `taskmesh:mcp-events` by default. */
  channel?: string;
  /** Where a failed delivery or connection trouble is reported; stderr by default. */
  onError?: (error: Error) => void;
}

export interface RedisEventBus extends ServerEventBus, SessionClosings {
  /** Close its connections (once the services using it have stopped). */
  close(): Promise<void>;
}

/** Connect to Redis at `url` and give a bus over it. Rejects, naming the URL, when Redis cannot be reached. */
export async function redisEventBus(url: string, options: RedisEventBusOptions = {}): Promise<RedisEventBus> {
  const channel = options.channel ?? 'taskmesh:mcp-events';
  const onError = options.onError ?? ((error: Error) => process.stderr.write(`taskmesh: MCP events over Redis: ${error.message}\n`));
  const sessionsChannel = `${channel}:sessions-closed`;
  const listeners = new Set<(event: ServerEvent) => void>();
  const sessionListeners = new Set<(id: string, until: number) => void>();
  const publisher = await connectRedis(url, onError);
  let subscriber;
  try {
    subscriber = await connectRedis(url, onError);
    await subscriber.subscribe(sessionsChannel, (message) => {
      try {
        const { id, until } = JSON.parse(message) as { id: string; until: number };
        for (const listener of sessionListeners) listener(id, until);
      } catch (error) {
        onError(new Error(`a message on ${sessionsChannel} is not a session closing: ${(error as Error).message}`));
      }
    });
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
    publishSessionClosed(id, until) {
      publisher.publish(sessionsChannel, JSON.stringify({ id, until })).catch(onError);
    },
    onSessionClosed(listener) {
      sessionListeners.add(listener);
      return () => void sessionListeners.delete(listener);
    },
    async close() {
      listeners.clear();
      sessionListeners.clear();
      await Promise.all([closeRedis(publisher), closeRedis(connected)]);
    },
  };
}
