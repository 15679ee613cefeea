/**
 * What the SDK's `ctx.mcpReq` gives alike on both direct paths (the 2025-era stateless call and
 * the 2026-07-28 call): the request id, the caller's abort signal, no request state, and
 * notifications passed to the call's exchange (which switches its answer to a stream). Each path
 * adds what differs between the eras. A class for the reason HandlerContext is (src/mcp/context.ts).
 */
import type { JSONRPCMessage, JSONRPCRequest, Notification } from '@modelcontextprotocol/server';

export interface NotifiedExchange {
  notify(message: JSONRPCMessage): void;
}

export abstract class DirectRequest {
  readonly id: JSONRPCRequest['id'];
  readonly #exchange: NotifiedExchange;
  readonly #signal: () => AbortSignal;

  constructor(id: JSONRPCRequest['id'], exchange: NotifiedExchange, signal: () => AbortSignal) {
    this.id = id;
    this.#exchange = exchange;
    this.#signal = signal;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }

  requestState(): undefined {
    return undefined;
  }

  async notify(notification: Notification): Promise<void> {
    this.#exchange.notify({ jsonrpc: '2.0', ...notification } as JSONRPCMessage);
  }
}
