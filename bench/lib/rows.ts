/**
 * The rows of the benchmark, one entry each: what is compared with what, under which goal (from the
 * issues), and how its servers are set up. A row for a feature that has not landed says so and is
 * skipped.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { ServerProcess } from './processes.ts';
import type { BenchContext, RowSpec, Side, Trial } from './runner.ts';
import {
  anchorScript,
  driver,
  echoAnswers,
  idleRssKiB,
  mcpAnswers,
  mcpInitializes,
  mcpSession,
  medianOf,
  nodeServer,
  pythonServer,
  stopAll,
  wrkSide,
} from './sides.ts';

const ECHO_SERVER = 'bench/servers/echo-server.ts';
const GATEWAY_SERVER = 'bench/servers/gateway-server.ts';

/** taskmesh's gateway in front of `upstreamUrl`, with the app registered as APP (both gateway rows). */
function taskmeshGateway(ctx: Parameters<typeof nodeServer>[0], upstreamUrl: string) {
  return nodeServer(ctx, {
    name: 'taskmesh-gateway',
    script: GATEWAY_SERVER,
    args: [APP, upstreamUrl],
    taskmesh: true,
    ready: (url) => echoAnswers(url, `/${APP}/echo`),
  });
}
/** The app name the gateways forward: `/echo/echo` reaches the upstream's `/echo` through every gateway. */
const APP = 'echo';

/**
 * The gateway rows' upstreams: one fastify_echo per side, so that each side's CPU counts its own
 * upstream and the row can also be loaded at once (the runner's `loadedAtOnce`).
 */
async function upstreams(ctx: BenchContext, keep: (s: { server: ServerProcess; url: string }) => string) {
  const started = [await fastifyEcho(ctx, 'upstream-a-fastify_echo'), await fastifyEcho(ctx, 'upstream-b-fastify_echo')] as const;
  for (const upstream of started) keep(upstream);
  return started;
}

/** Start servers one after the other; if one fails, stop those already started. */
async function trial(build: (keep: (s: { server: ServerProcess; url: string }) => string) => Promise<Omit<Trial, 'close'>>): Promise<Trial> {
  const servers: ServerProcess[] = [];
  const keep = (started: { server: ServerProcess; url: string }) => {
    servers.push(started.server);
    return started.url;
  };
  try {
    const sides = await build(keep);
    return { ...sides, close: () => stopAll(servers) };
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

/** wrk's POST /echo (the anchors' post_echo.lua) against one echo server, counting its CPU. */
const postEcho = (ctx: BenchContext, label: string, echo: { server: ServerProcess; url: string }) =>
  wrkSide(ctx, label, `${echo.url}/echo`, 'post_echo.lua', [echo.server]);

const taskmeshEcho = (ctx: BenchContext, name = 'taskmesh-echo') =>
  nodeServer(ctx, { name, script: ECHO_SERVER, args: [], taskmesh: true, ready: (url) => echoAnswers(url) });
const fastifyEcho = (ctx: BenchContext, name = 'fastify_echo') =>
  nodeServer(ctx, { name, script: anchorScript(ctx, 'fastify_echo.mjs'), args: [], taskmesh: false, ready: (url) => echoAnswers(url) });

async function mcpPathOf(): Promise<string> {
  const { mcpPath } = await import('../../src/config.ts');
  return mcpPath();
}

/** A feature of another issue is there when its export is: otherwise the row says it has not landed. */
function feature(what: string, issue: number, check: (index: Record<string, unknown>) => boolean): () => Promise<string | undefined> {
  return async () => {
    try {
      const index = (await import('../../src/index.ts')) as Record<string, unknown>;
      if (check(index)) return undefined;
    } catch {
      // an import that fails counts as not there
    }
    return `not available yet: ${what} (issue ${issue}) has not landed in src/.`;
  };
}
const mcpLanded = feature('MCP serving', 4, (m) => typeof m.mcpUrl === 'function');
const gatewayLanded = feature('the Gateway', 5, (m) => typeof m.Gateway === 'function');
const launchLanded = feature('launch()', 3, (m) => typeof (m.Service as { launch?: unknown })?.launch === 'function');

/** A side measured by a driver process, one sample per measurement. */
function driverSide(label: string, measure: () => Promise<{ value: number; cpuMicrosPerOp?: number }>): Side {
  return { label, warmup: async () => void (await measure()), measure };
}

export const rows: RowSpec[] = [
  {
    id: 'noise',
    unit: 'requests/s',
    title: 'Noise floor: bare Fastify against itself',
    anchor: 'fastify_echo.mjs, twice',
    figure:
      'requests/s, the second fastify_echo ÷ the first: the same server on both sides, so any distance from 1.0x is ' +
      'what this run\'s machine does to a ratio, the yardstick for every row below',
    needs: ['wrk'],
    setup: (ctx) =>
      trial(async (keep) => {
        const first = await fastifyEcho(ctx, 'fastify_echo-first');
        keep(first);
        const second = await fastifyEcho(ctx, 'fastify_echo-second');
        keep(second);
        return {
          a: postEcho(ctx, 'fastify_echo (first)', first),
          b: postEcho(ctx, 'fastify_echo (second)', second),
        };
      }),
  },
  {
    id: 'http-fastify',
    unit: 'requests/s',
    title: 'HTTP echo vs bare Fastify',
    anchor: 'fastify_echo.mjs',
    figure: 'requests/s, taskmesh ÷ anchor (wrk, POST /echo)',
    goal: { op: '>=', value: 0.85, unit: 'x' },
    needs: ['wrk'],
    setup: (ctx) =>
      trial(async (keep) => {
        const anchor = await fastifyEcho(ctx);
        const ours = await taskmeshEcho(ctx);
        keep(anchor);
        keep(ours);
        return {
          a: postEcho(ctx, 'fastify_echo', anchor),
          b: postEcho(ctx, 'taskmesh', ours),
        };
      }),
  },
  {
    id: 'http-fastify-logged',
    unit: 'requests/s',
    title: 'HTTP echo vs Fastify with its logger on',
    anchor: 'fastify_echo.mjs with `logger: true` (bench/servers/fastify-echo-logged.mjs)',
    figure: 'requests/s, taskmesh ÷ Fastify logging as by default (pino: two lines per request; taskmesh writes one): what the rest of taskmesh costs once both log',
    needs: ['wrk'],
    setup: (ctx) =>
      trial(async (keep) => {
        const anchor = await nodeServer(ctx, {
          name: 'fastify_echo-logged',
          script: join(ctx.env.repoRoot, 'bench', 'servers', 'fastify-echo-logged.mjs'),
          args: [ctx.env.anchors],
          taskmesh: false,
          ready: (url) => echoAnswers(url),
        });
        keep(anchor);
        const ours = await taskmeshEcho(ctx);
        keep(ours);
        return {
          a: postEcho(ctx, 'fastify_echo, logger on', anchor),
          b: postEcho(ctx, 'taskmesh', ours),
        };
      }),
  },
  {
    id: 'http-fastapi',
    unit: 'requests/s',
    title: 'HTTP echo vs FastAPI',
    anchor: 'fastapi_echo.py',
    figure: 'requests/s, taskmesh ÷ anchor (wrk, POST /echo)',
    needs: ['wrk', 'python'],
    setup: (ctx) =>
      trial(async (keep) => {
        const anchor = await pythonServer(ctx, 'fastapi_echo', 'fastapi_echo.py', [], (url) => echoAnswers(url));
        keep(anchor);
        const ours = await taskmeshEcho(ctx);
        keep(ours);
        return {
          a: postEcho(ctx, 'fastapi_echo', anchor),
          b: postEcho(ctx, 'taskmesh', ours),
        };
      }),
  },
  {
    id: 'mcp-sdk',
    unit: 'calls/s',
    title: 'MCP tools/call vs MCP SDK v2',
    anchor: 'mcp_v2_echo.mjs',
    figure: 'tools/call per second, taskmesh ÷ anchor (wrk, mcp_call.lua, a 2025-11-25 request)',
    goal: { op: '>=', value: 5, unit: 'x' },
    needs: ['wrk'],
    available: mcpLanded,
    setup: async (ctx) => {
      const path = await mcpPathOf();
      return trial(async (keep) => {
        const anchor = await nodeServer(ctx, { name: 'mcp_v2_echo', script: anchorScript(ctx, 'mcp_v2_echo.mjs'), args: [], taskmesh: false, ready: (url) => mcpAnswers(`${url}/`) });
        keep(anchor);
        const ours = await taskmeshEcho(ctx);
        keep(ours);
        return {
          a: wrkSide(ctx, 'mcp_v2_echo', `${anchor.url}/`, 'mcp_call.lua', [anchor.server]),
          b: wrkSide(ctx, 'taskmesh MCP', `${ours.url}${path}`, 'mcp_call.lua', [ours.server]),
        };
      });
    },
  },
  {
    id: 'mcp-session',
    unit: 'calls/s',
    title: 'MCP tools/call in a 2025-era session vs MCP SDK v1 session',
    anchor: 'mcp_sdk_session.mjs',
    figure: 'tools/call per second in one initialized session, taskmesh ÷ anchor (wrk, mcp_call_session.lua): what clients that keep a session get',
    needs: ['wrk'],
    available: mcpLanded,
    setup: async (ctx) => {
      const path = await mcpPathOf();
      return trial(async (keep) => {
        const anchor = await nodeServer(ctx, { name: 'mcp_sdk_session', script: anchorScript(ctx, 'mcp_sdk_session.mjs'), args: [], taskmesh: false, ready: (url) => mcpInitializes(`${url}/`) });
        keep(anchor);
        const ours = await taskmeshEcho(ctx);
        keep(ours);
        const [anchorSession, ourSession] = [await mcpSession(ctx, `${anchor.url}/`), await mcpSession(ctx, `${ours.url}${path}`)];
        return {
          a: wrkSide(ctx, 'mcp_sdk_session', `${anchor.url}/`, 'mcp_call_session.lua', [anchor.server], { MCP_SID: anchorSession }),
          b: wrkSide(ctx, 'taskmesh MCP session', `${ours.url}${path}`, 'mcp_call_session.lua', [ours.server], { MCP_SID: ourSession }),
        };
      });
    },
  },
  {
    id: 'mcp-own-http',
    unit: 'requests/s',
    title: "MCP tools/call vs taskmesh's own HTTP echo",
    anchor: "taskmesh's POST /echo (same process)",
    figure: 'tools/call per second ÷ POST /echo per second, one taskmesh service',
    goal: { op: '>=', value: 0.4, unit: 'x' },
    needs: ['wrk'],
    available: mcpLanded,
    setup: async (ctx) => {
      const path = await mcpPathOf();
      return trial(async (keep) => {
        const ours = await taskmeshEcho(ctx);
        keep(ours);
        return {
          a: postEcho(ctx, 'taskmesh HTTP', ours),
          b: wrkSide(ctx, 'taskmesh MCP', `${ours.url}${path}`, 'mcp_call.lua', [ours.server]),
        };
      });
    },
  },
  {
    id: 'gateway-proxy',
    unit: 'requests/s',
    title: 'Gateway hop vs bare Node proxy',
    anchor: 'fastify_proxy.mjs (upstream fastify_echo.mjs)',
    figure: 'requests/s through the hop, taskmesh ÷ anchor; gateway and upstream on one core, wrk on the other',
    goal: { op: '>=', value: 1.0, unit: 'x' },
    needs: ['wrk'],
    available: gatewayLanded,
    setup: (ctx) =>
      trial(async (keep) => {
        const [upstreamA, upstreamB] = await upstreams(ctx, keep);
        const proxy = await nodeServer(ctx, {
          name: 'fastify_proxy',
          script: anchorScript(ctx, 'fastify_proxy.mjs'),
          args: [upstreamA.url],
          taskmesh: false,
          ready: (url) => echoAnswers(url, `/${APP}/echo`),
        });
        keep(proxy);
        const gateway = await taskmeshGateway(ctx, upstreamB.url);
        keep(gateway);
        return {
          a: wrkSide(ctx, 'fastify_proxy', `${proxy.url}/${APP}/echo`, 'post_echo.lua', [proxy.server, upstreamA.server]),
          b: wrkSide(ctx, 'taskmesh gateway', `${gateway.url}/${APP}/echo`, 'post_echo.lua', [gateway.server, upstreamB.server]),
        };
      }),
  },
  {
    id: 'gateway-fastapi',
    unit: 'requests/s',
    title: 'Gateway hop vs FastAPI gateway',
    anchor: 'fastapi_gateway.py (upstream fastify_echo.mjs)',
    figure: 'requests/s through the hop, taskmesh ÷ anchor; gateway and upstream on one core, wrk on the other',
    goal: { op: '>=', value: 10, unit: 'x' },
    needs: ['wrk', 'python', 'httpx'],
    available: gatewayLanded,
    setup: (ctx) =>
      trial(async (keep) => {
        const [upstreamA, upstreamB] = await upstreams(ctx, keep);
        const anchor = await pythonServer(ctx, 'fastapi_gateway', 'fastapi_gateway.py', [APP, upstreamA.url], (url) => echoAnswers(url, `/${APP}/echo`));
        keep(anchor);
        const gateway = await taskmeshGateway(ctx, upstreamB.url);
        keep(gateway);
        return {
          a: wrkSide(ctx, 'fastapi_gateway', `${anchor.url}/${APP}/echo`, 'post_echo.lua', [anchor.server, upstreamA.server]),
          b: wrkSide(ctx, 'taskmesh gateway', `${gateway.url}/${APP}/echo`, 'post_echo.lua', [gateway.server, upstreamB.server]),
        };
      }),
  },
  {
    id: 'launch',
    unit: 'ms',
    title: 'launch() to first answer vs spawning Fastify',
    anchor: 'fastify_echo.mjs (spawned, polled every 5 ms)',
    figure: 'ms from start to the first answered POST /echo, taskmesh ÷ anchor (median of 3 per round; neither pinned)',
    goal: { op: '<=', value: 1.5, unit: 'x' },
    available: launchLanded,
    setup: async (ctx) => {
      const dir = join(ctx.settings.resultsDir, 'launched');
      mkdirSync(dir, { recursive: true });
      const env = { TASKMESH_LOG_DIR: dir, TASKMESH_PID_DIR: dir };
      const once = async (mode: 'anchor' | 'taskmesh') => {
        const port = await ctx.freePort();
        const { ms } = await driver<{ ms: number }>(ctx, 'bench/drivers/launch-time.ts', [mode, anchorScript(ctx, 'fastify_echo.mjs'), String(port)], { pinned: false, env });
        return ms;
      };
      return {
        a: driverSide('spawn fastify_echo', async () => ({ value: await medianOf(3, () => once('anchor')) })),
        b: driverSide('EchoService.launch()', async () => ({ value: await medianOf(3, () => once('taskmesh')) })),
        close: async () => {},
      };
    },
  },
  {
    id: 'client',
    unit: 'calls per CPU-second',
    title: 'Typed client vs raw undici',
    anchor: 'raw undici Pool, same service, same bytes',
    figure:
      'calls per second of client CPU at 32 concurrent calls, typed client ÷ raw undici (client pinned to the load core; the service is the slower side and caps both clients\' raw rate alike, so the client\'s own cost is read from its CPU)',
    goal: { op: '>=', value: 0.9, unit: 'x' },
    setup: (ctx) =>
      trial(async (keep) => {
        const url = keep(await taskmeshEcho(ctx));
        const { seconds, connections, warmupSeconds } = ctx.settings;
        const side = (mode: 'typed' | 'undici', label: string): Side => {
          const measure = async (length = seconds) => {
            const r = await driver<{ callsPerCpuSecond: number; cpuMicrosPerCall: number }>(
              ctx,
              'bench/drivers/client-load.ts',
              [mode, url, String(length), String(connections), String(Math.min(1, warmupSeconds))],
              { pinned: true },
            );
            return { value: r.callsPerCpuSecond, cpuMicrosPerOp: r.cpuMicrosPerCall };
          };
          // Each measurement is its own process with its own warm-up; one more run warms the server.
          // Only the client's CPU is counted, and each side's client is a process of its own, so
          // the two can also load the service at once (both then meet the same service, equally busy).
          return { label, warmup: async () => void (await measure()), measure, counts: [{ client: mode }] };
        };
        return { a: side('undici', 'raw undici'), b: side('typed', 'typed client') };
      }),
  },
  {
    id: 'connect',
    unit: 'ms',
    title: 'connect() with a contract, p50',
    anchor: '— (an absolute goal)',
    figure: 'ms per connect(url, contract): a new client, one heartbeat over a new pool (median per round)',
    goal: { op: '<=', value: 5, unit: 'ms' },
    setup: (ctx) =>
      trial(async (keep) => {
        const url = keep(await taskmeshEcho(ctx));
        const measure = async () => {
          const r = await driver<{ p50Ms: number }>(ctx, 'bench/drivers/connect-time.ts', [url, String(ctx.settings.connectSamples)], { pinned: true });
          return { value: r.p50Ms };
        };
        return { b: { label: 'connect()', warmup: async () => void (await measure()), measure } };
      }),
  },
  {
    id: 'rss',
    unit: 'KiB',
    title: 'Idle RSS vs bare Fastify',
    anchor: 'fastify_echo.mjs',
    figure: 'resident memory after 20 requests and 1 s idle, taskmesh ÷ anchor (a new process each round)',
    goal: { op: '<=', value: 1.3, unit: 'x' },
    setup: async (ctx) => ({
      a: { label: 'fastify_echo', warmup: async () => {}, measure: async () => ({ value: await idleRssKiB(() => fastifyEcho(ctx)) }) },
      b: { label: 'taskmesh', warmup: async () => {}, measure: async () => ({ value: await idleRssKiB(() => taskmeshEcho(ctx)) }) },
      close: async () => {},
    }),
  },
];
