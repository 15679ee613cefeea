/**
 * McpConnection: one MCP server reached over Streamable HTTP with the official SDK Client. It
 * connects on first use, keeps the server's tool and prompt lists (dropped and re-read when the
 * server says they changed), reconnects once when the connection breaks, and runs every
 * request through an optional policy, so that a caller with many servers (the gateway's MCP
 * federation, an MCP hub) adds timeouts, retries or circuit breakers without changing this class.
 */
import type { Client } from '@modelcontextprotocol/client';
import { mcpClientSdk } from '../lazy.ts';
import type { CallToolResult, GetPromptResult, Implementation, Prompt, Tool } from '@modelcontextprotocol/client';
import { ErrorCodes, ServiceUnreachableError, TaskmeshError } from '../errors.ts';

/** What a policy must offer; a cockatiel policy (`wrap(timeout(...), circuitBreaker(...))`) is one. */
export interface CallPolicy {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
}

export interface McpConnectionOptions {
  /** The server's name, for messages (an app name, a hub server name). */
  name: string;
  /** The MCP endpoint, e.g. `http://localhost:8080/mcp-server/mcp`. */
  url: string;
  /** Sent with every request, e.g. `{ authorization: 'Bearer ...' }`. */
  headers?: Record<string, string>;
  clientInfo?: Implementation;
  /** Protocol era: 'auto' (2026-07-28 when the server speaks it), 'legacy' (a 2025-era session), or a pinned version. */
  protocol?: 'auto' | 'legacy' | { pin: string };
  /** Milliseconds per request (60 s by default). */
  timeout?: number;
  /** Wraps connecting, listing and calling. */
  policy?: CallPolicy;
  /** Called after the server's tool list changed and was read again. */
  onToolsChanged?: (tools: Tool[]) => void;
  /** Called after the server's prompt list changed and was read again. */
  onPromptsChanged?: (prompts: Prompt[]) => void;
}

export type McpConnectionState = 'idle' | 'connecting' | 'ready' | 'closed';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED']);

/** The network error code somewhere in an error's cause chain. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** A broken connection (as opposed to an answer the server gave): worth one reconnect. */
function connectionLost(error: unknown): boolean {
  if (networkErrorCode(error)) return true;
  const status = (error as { status?: unknown; code?: unknown })?.status;
  // A 2025-era session the server no longer knows (it restarted) answers 404.
  return status === 404 || /session not found|not connected|connection closed/i.test((error as Error)?.message ?? '');
}

const directPolicy: CallPolicy = {
  execute: async (fn, signal) => fn({ signal: signal ?? new AbortController().signal }),
};

export class McpConnection {
  readonly name: string;
  readonly url: string;
  readonly #options: McpConnectionOptions;
  readonly #policy: CallPolicy;
  #client: Promise<Client> | undefined;
  #tools: Tool[] | undefined;
  #prompts: Prompt[] | undefined;
  #state: McpConnectionState = 'idle';
  /** Aborted by close(): ends a connect or a request still under way. */
  readonly #lifetime = new AbortController();

  constructor(options: McpConnectionOptions) {
    this.name = options.name;
    this.url = options.url;
    this.#options = options;
    this.#policy = options.policy ?? directPolicy;
  }

  get state(): McpConnectionState {
    return this.#state;
  }

  /** The server's tools; read once and kept until the server says they changed (or `refresh`). */
  async listTools(options: { refresh?: boolean } = {}): Promise<Tool[]> {
    if (this.#tools && !options.refresh) return this.#tools;
    const { tools } = await this.#request((client, signal) => client.listTools(undefined, { signal, ...this.#timeout() }));
    this.#tools = tools;
    return tools;
  }

  /** The server's prompts, kept as its tools are; none from a server that serves no prompts. */
  async listPrompts(options: { refresh?: boolean } = {}): Promise<Prompt[]> {
    if (this.#prompts && !options.refresh) return this.#prompts;
    const { prompts } = await this.#request((client, signal) => client.listPrompts(undefined, { signal, ...this.#timeout() }));
    this.#prompts = prompts;
    return prompts;
  }

  /** Get a prompt with its arguments; an unknown prompt or bad arguments throw the server's error. */
  async getPrompt(name: string, args: Record<string, string> = {}, options: { signal?: AbortSignal } = {}): Promise<GetPromptResult> {
    return this.#request((client, signal) => client.getPrompt({ name, arguments: args }, { signal, ...this.#timeout() }), options.signal);
  }

  /** Call a tool. A tool's own failure is a result with `isError`; a refused call (unknown tool, bad arguments) throws the server's error. */
  async callTool(name: string, args: Record<string, unknown> = {}, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<CallToolResult> {
    return this.#request(
      (client, signal) => client.callTool({ name, arguments: args }, { signal, ...this.#timeout(options.timeout) }) as Promise<CallToolResult>,
      options.signal,
    );
  }

  async close(): Promise<void> {
    const connecting = this.#state === 'connecting';
    this.#state = 'closed';
    const client = this.#client;
    this.#client = undefined;
    this.#tools = undefined;
    this.#prompts = undefined;
    const closed = new TaskmeshError(ErrorCodes.ABORTED, `The MCP connection to ${this.name} (${this.url}) was closed.`);
    // A handshake with a server that does not answer would never end: cut it. A connected client
    // closes its streams itself, which servers take better than a cut connection.
    if (connecting) this.#lifetime.abort(closed);
    await (await client?.catch(() => undefined))?.close().catch(() => {});
  }

  #timeout(override?: number): { timeout?: number } {
    const timeout = override ?? this.#options.timeout;
    return timeout === undefined ? {} : { timeout };
  }

  async #request<T>(run: (client: Client, signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#policy.execute(async ({ signal: policySignal }) => {
      const combined = AbortSignal.any(signal ? [signal, policySignal, this.#lifetime.signal] : [policySignal, this.#lifetime.signal]);
      const client = await this.#connected();
      try {
        return await run(client, combined);
      } catch (error) {
        if (!connectionLost(error) || combined.aborted) throw this.#mapped(error);
        // The server went away or restarted: one fresh connection, one more try.
        await this.#reset(client);
        try {
          return await run(await this.#connected(), combined);
        } catch (retryError) {
          throw this.#mapped(retryError);
        }
      }
    }, signal);
  }

  #connected(): Promise<Client> {
    if (this.#state === 'closed') {
      return Promise.reject(new TaskmeshError(ErrorCodes.CALL_FAILED, `The MCP connection to ${this.name} (${this.url}) is closed; make a new one.`));
    }
    this.#client ??= this.#connect();
    return this.#client;
  }

  async #connect(): Promise<Client> {
    this.#state = 'connecting';
    const { onToolsChanged, onPromptsChanged } = this.#options;
    const { Client, StreamableHTTPClientTransport } = await mcpClientSdk();
    const client = new Client(this.#options.clientInfo ?? { name: 'taskmesh', version: '1' }, {
      versionNegotiation: { mode: this.#options.protocol ?? 'auto' },
      listChanged: {
        tools: {
          debounceMs: 0,
          onChanged: (error, tools) => {
            this.#tools = error || !tools ? undefined : tools;
            if (tools) onToolsChanged?.(tools);
          },
        },
        prompts: {
          debounceMs: 0,
          onChanged: (error, prompts) => {
            this.#prompts = error || !prompts ? undefined : prompts;
            if (prompts) onPromptsChanged?.(prompts);
          },
        },
      },
    });
    const headers = this.#options.headers;
    const lifetime = this.#lifetime.signal;
    const transport = new StreamableHTTPClientTransport(new URL(this.url), {
      ...(headers ? { requestInit: { headers } } : {}),
      // Every HTTP request of this connection ends when it is closed, even one the SDK would not
      // abort (the handshake with a server that never answers).
      fetch: (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, lifetime]) : lifetime }),
    });
    try {
      await client.connect(transport, this.#timeout());
    } catch (error) {
      if (!this.#lifetime.signal.aborted) {
        this.#client = undefined;
        this.#state = 'idle';
      }
      await client.close().catch(() => {});
      throw this.#mapped(error);
    }
    client.onclose = () => {
      // The next request connects again.
      if (this.#client && this.#state !== 'closed') {
        this.#client = undefined;
        this.#state = 'idle';
      }
    };
    this.#state = 'ready';
    return client;
  }

  async #reset(client: Client): Promise<void> {
    if (this.#state === 'closed') return;
    this.#client = undefined;
    this.#tools = undefined;
    this.#prompts = undefined;
    this.#state = 'idle';
    await client.close().catch(() => {});
  }

  #mapped(error: unknown): unknown {
    const code = networkErrorCode(error);
    return code ? new ServiceUnreachableError(`${this.url} (MCP server "${this.name}")`, Object.assign(new Error(code), { code })) : error;
  }
}
