/**
 * A service's tools, resources and prompts over stdin/stdout, for desktop clients that start an
 * MCP server as a subprocess. Both protocol eras (the SDK's `serveStdio` tells them apart on the
 * first message); list changes reach the client as on HTTP. Only protocol messages go to stdout:
 * the logger writes to stderr.
 */
import type { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import type { Server } from '@modelcontextprotocol/server';
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import type { ServerStatus } from '../protocol.ts';
import type { McpHost, McpOptions } from './host.ts';
import { createMcpServer, notifyServer, type McpServerSpec } from './server.ts';

export interface StdioStreams {
  stdin?: Readable;
  stdout?: Writable;
  /** Where log lines go; stderr by default. */
  stderr?: Writable;
}

export interface StdioFacts {
  className: string;
  version: string;
  options: McpOptions;
  status: () => ServerStatus;
  /** pino's level for the log lines on stderr ('silent' for none); 'info' by default. */
  logLevel?: string;
}

export interface StdioServing {
  /** Resolves when the client closes the input (it went away). */
  done: Promise<void>;
  /** Resolves once every request of the client has been answered, or can no longer be (the connection closed). */
  answered(): Promise<void>;
  close(): Promise<void>;
}

type Message = Parameters<NonNullable<StdioServerTransport['onmessage']>>[0];

/** A request that stays open until the client ends it: not work in progress that a stop waits for. */
const OPEN_ENDED = new Set(['subscriptions/listen']);

/**
 * The client's requests not yet answered, read off the wire: a stopping service answers them
 * before it closes the connection. Every message passes through the transport, whichever server
 * instance (and protocol era) serves it.
 */
function unansweredRequests(transport: StdioServerTransport): () => Promise<void> {
  const pending = new Set<string | number>();
  const waiting: (() => void)[] = [];
  let closed = false;
  const settle = (): void => {
    if (pending.size === 0 || closed) for (const resolve of waiting.splice(0)) resolve();
  };
  const receive = transport.onmessage;
  transport.onmessage = (message: Message) => {
    if ('method' in message && 'id' in message && !OPEN_ENDED.has(message.method)) pending.add(message.id);
    receive?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: Message) => {
    try {
      await send(message);
    } finally {
      if (!('method' in message) && 'id' in message && message.id !== undefined && pending.delete(message.id)) settle();
    }
  };
  const onclose = transport.onclose;
  transport.onclose = () => {
    closed = true;
    settle();
    onclose?.();
  };
  return () =>
    new Promise((resolve) => {
      waiting.push(resolve);
      settle();
    });
}

export function serveMcpStdio(host: McpHost, facts: StdioFacts, streams: StdioStreams = {}): StdioServing {
  const stdin = streams.stdin ?? process.stdin;
  const log = pino({ level: facts.logLevel ?? 'info', base: { pid: process.pid, transport: 'stdio' } }, pino.destination({ dest: 2, sync: true }));
  // stdio is one connection, so one set of resource subscriptions.
  const subscriptions = new Set<string>();
  const servers = new Set<Server>();
  const spec: McpServerSpec = {
    registry: host.registry,
    info: { name: facts.className, version: facts.version },
    instructions: facts.options.instructions,
    status: facts.status,
    log,
    subscriptions: () => subscriptions,
  };
  const factory = (): Server => {
    const server = createMcpServer(spec);
    servers.add(server);
    return server;
  };
  const bus = host.bus(log, facts.options);
  const unsubscribe = bus.subscribe((event) => {
    // The set also holds the discarded probe instance of a 2026-era connection; sends to it just fail.
    for (const server of servers) notifyServer(server, event, subscriptions)?.catch(() => servers.delete(server));
  });
  const transport = new StdioServerTransport(stdin, streams.stdout ?? process.stdout);
  const handle = serveStdio(factory, { transport, onerror: (error) => log.debug({ err: error }, `MCP over stdio: ${error.message}`) });
  const answered = unansweredRequests(transport);
  const done = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
  });
  log.info(`${facts.className} serves MCP over stdio`);
  return {
    done,
    answered,
    close: async () => {
      unsubscribe();
      await handle.close();
      bus.close();
    },
  };
}
