/** wrk, the load generator: one run, its output parsed, and the checks that make a run count. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BenchError } from './errors.ts';

const run = promisify(execFile);

export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Mean latency in milliseconds. */
  latencyMs: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export interface WrkLoad {
  url: string;
  /** A wrk Lua script that sets the method, headers and body. */
  script: string;
  seconds: number;
  connections: number;
  /** Command prefix that pins wrk to a core (`taskset -c 1`), or none. */
  pin: string[];
  /** Extra environment for the script (mcp_call_session.lua reads MCP_SID). */
  env?: Record<string, string>;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parse wrk's report; throws when the text is not one. */
export function parseWrk(text: string): WrkResult {
  const requestsLine = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!requestsLine || !rps) throw new BenchError(`wrk's output has no request count; it printed:\n${text.trim().slice(0, 600)}`);
  const latency = /Latency\s+([\d.]+)(us|ms|s|m)\b/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(requestsLine[1]),
    seconds: Number(requestsLine[2]) * UNIT_MS[requestsLine[3]!]! / 1000,
    requestsPerSecond: Number(rps[1]),
    latencyMs: latency ? Number(latency[1]) * UNIT_MS[latency[2]!]! : Number.NaN,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
  };
}

/**
 * A run counts only when every reply was a success: a server that answers fast with errors must
 * not look fast. Timeouts under load are tolerated up to 1 in 1000 requests.
 */
export function checkWrk(result: WrkResult, url: string): WrkResult {
  const { connect, read, write, timeout } = result.socketErrors;
  if (result.requests === 0) throw new BenchError(`wrk completed no request against ${url}.`);
  if (result.non2xx > 0) {
    throw new BenchError(`${result.non2xx} of ${result.requests} replies from ${url} were not 2xx: the server refuses the benchmark's request, so its rate means nothing.`);
  }
  if (connect + read + write > 0 || timeout > result.requests / 1000) {
    throw new BenchError(`wrk saw socket errors against ${url} (connect ${connect}, read ${read}, write ${write}, timeout ${timeout}); did the server crash or close connections?`);
  }
  return result;
}

export async function runWrk(load: WrkLoad): Promise<WrkResult> {
  const args = ['-t1', `-c${load.connections}`, `-d${load.seconds}s`, '-s', load.script, load.url];
  const [command, ...prefix] = [...load.pin, 'wrk'];
  try {
    const { stdout } = await run(command!, [...prefix, ...args], {
      env: { ...process.env, ...load.env },
      timeout: (load.seconds + 30) * 1000,
    });
    return checkWrk(parseWrk(stdout), load.url);
  } catch (error) {
    if (error instanceof BenchError) throw error;
    const failed = error as { stderr?: string; message: string };
    throw new BenchError(`wrk against ${load.url} failed: ${(failed.stderr || failed.message).trim().slice(0, 400)}`);
  }
}
