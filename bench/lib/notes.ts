/**
 * What was found when a row missed its goal (profiled with --cpu-prof, CPU time per request and
 * V8's GC trace), and what was changed: printed under the row in bench/RESULTS.md. Figures here
 * come from the investigations named, in alternating runs on the same shared machine, not from the
 * run that wrote the file.
 */
export const notes: Record<string, string> = {
  'http-fastify':
    '**Found and fixed** (src/service/http-app.ts, commit d908a3c): the context each handler gets was an object ' +
    'literal with a getter, and V8 kept what that getter closed over, the request and the reply, alive through ' +
    'young-generation collections. About 2 KB were promoted to the old generation per request (1.6-2.1 KB; ' +
    '10-90 bytes after the fix, `--trace-gc-nvp`), and collecting cost 10-28 µs per request (1-3 µs after). The ' +
    'context is now a class, with the same behaviour (the core tests pass). Side by side, 8 alternating rounds: ' +
    'CPU per request 153 -> 121 µs, requests/s 5,684 -> 7,434 (+31%), ratio to bare Fastify 0.60x -> 0.78x.\n\n' +
    '**What remains** is the per-request logging, which the anchor does not do: with `logger: false` taskmesh ' +
    'spends 20-25% less CPU per request (92 vs 118-124 µs in alternating runs) and is at 0.8-0.9x of bare Fastify. ' +
    'Writing the line asynchronously, or to a stream that drops it, saves next to nothing, and so does dropping only ' +
    'the line or only the per-request child logger: the cost is Fastify\'s and pino\'s per-request logger work as a ' +
    'whole, not the write. Against Fastify with its own logger on (next row) taskmesh is close to even. Reaching ' +
    '0.85x of a silent Fastify with a log line per request needs a cheaper request-log path (no child logger per ' +
    'request, the line built outside pino\'s generic path), which changes what `request.log` is for handlers and ' +
    'plugins: a decision for the core, not made here.',
  'http-fastify-logged':
    'Context for the row above: the same anchor with `logger: true` (Fastify\'s default logger writes two lines per ' +
    'request, taskmesh one). Once both log, what is left between them is taskmesh\'s own work: request ids, input ' +
    'and output validation with zod, the built-in routes.',
  'mcp-sdk':
    'Profiled: taskmesh serves a 2025-era stateless `tools/call` on a direct path (src/mcp/http/stateless.ts), its ' +
    'MCP code is about 5% of its CPU per call, and the SDK anchor, which builds a server per request, spends 4-5x the ' +
    'CPU per call (see the CPU line). **Found and fixed** (src/mcp/context.ts and src/mcp/http/stateless.ts): the ' +
    'same GC problem as the HTTP context had: `mcpContext()` and `directContext()` returned object literals with a ' +
    '`get signal()`, which kept each call\'s request and reply alive through young-generation collections (3.7-4.3 KB ' +
    'promoted and 19-58 µs of GC per call). Both are classes now: on a copy of the compiled build that was 15 bytes ' +
    'and 1.1 µs of GC per call and 15% less CPU per call (243 -> 206 µs); the row went from 3.9-4.2x to 5.2x. The ' +
    'rest of the gap to the HTTP echo is the per-request logging described under the HTTP row.',
  'gateway-proxy':
    'Profiled side by side (gateway and upstream on one core): the gateway spent less CPU per forwarded request than ' +
    '@fastify/http-proxy (483 vs 525 µs in one profiled run, its own forwarding code about 3%), and its rounds ' +
    'straddle 1.0x; its extra work is one log line per request (the proxy anchor logs nothing), the request id and ' +
    'the X-Forwarded-* headers.',
  'gateway-fastapi':
    'The goal assumes the anchors\' own relation (bare Node proxy 6,400 vs FastAPI gateway 640 requests/s on a quiet ' +
    'machine, their README). On this shared machine the bare Node proxy itself measures only about 6x the FastAPI ' +
    'gateway (A of the row above ÷ A of this row, same run), so no Node proxy reaches 10x here; taskmesh\'s gateway is ' +
    'at parity with the bare proxy (row above).',
  launch:
    'Profiled the launched process: its start is module loading and building the app. Two causes fixed in the core: ' +
    'importing taskmesh loaded undici, the MCP client SDK and yaml in every service (now on first use, commit ' +
    '3588cf2: the import went from about 1.1 s to 0.4 s on the loaded machine), and registering the Swagger UI ' +
    'plugins cost about a third of `start()` (the docs page is now built on its first request). The row went from ' +
    '1.83x to 1.70x. What remains: importing the framework (zod and the project\'s own modules) against Fastify ' +
    'alone, building the OpenAPI document and the built-in routes, then the launcher\'s handshake and the ' +
    'client\'s first connection.',
  client:
    'Profiled the client process: taskmesh\'s own code (validation of input and output, headers, error mapping) is ' +
    'about 7% of its CPU per call; undici and the socket are the rest, for both clients. The row sits at the goal ' +
    'with rounds on both sides of it; its CPU line is the steadier figure.',
  rss:
    'Was 1.39-1.41x (compiled) when importing taskmesh loaded undici, the gateway\'s MCP client SDK and yaml in ' +
    'every service; the core now loads them on first use (commit 3588cf2). Running the .ts sources (`--ts`) adds ' +
    'Node\'s type stripper, about 17 MB more.',
};
