/**
 * What was found when a row missed its goal (profiled with --cpu-prof, CPU time per request and
 * V8's GC trace), and what was changed: printed under the row in bench/RESULTS.md. Figures here
 * come from the investigations named, in alternating runs on the same shared machine, not from the
 * run that wrote the file.
 */
export const notes: Record<string, string> = {
  noise:
    'Measured by hand in session 6 as well (the same server twice, started once, nine alternating rounds of 2 s, as ' +
    'here): eight runs gave medians from 0.90x to 1.13x, single rounds from 0.71x to 1.47x; eighteen rounds of 1 s, ' +
    'the order swapped every round, did no better (0.89x-1.10x in four runs). Loaded at once, the same pair reads ' +
    'within a few percent of 1.0x. So on this machine a row\'s median is good to about ±10% from one run to the next: ' +
    'the HTTP row, whose goal is 0.85x and whose CPU per request is 0.86-0.90x the anchor\'s when profiled or loaded ' +
    'at once, meets or misses its goal by the machine\'s swings (0.95x and 0.80x in two consecutive full runs of the ' +
    'same code).',
  'http-fastify':
    '**Found and fixed, first** (commit d908a3c): the handler context was an object literal with a getter, which kept ' +
    'each request and reply alive through young-generation GCs (about 2 KB promoted and 10-28 µs of GC per request); ' +
    'it is a class now. 0.60x -> 0.78x in alternating rounds.\n\n' +
    '**Found and fixed, then: the per-request logging** (src/service/logging.ts, take-over.ts, http-app.ts). Measured by ' +
    'taking out one thing at a time, both variants on one core at once (their CPU per request compared), three causes: ' +
    '(1) Fastify was given the logger, and with one it adds two response listeners, two clock reads and a pino child to ' +
    'every request: 15-17% of a request\'s CPU without the line even being written. Fastify now runs without a logger; ' +
    '`request.log` comes from its child-logger factory (the pino child made on first use) and the line from one onSend ' +
    'hook. (2) pino\'s default destination handed every line to libuv\'s thread pool (strace: one write(1) per request, ' +
    'from a pool thread, and a wake-up): now the lines of one event-loop turn go out in one write (about 25 at 10,000 ' +
    'requests/s). (3) pino\'s generic path cost about twice building the line directly, which the service now does when ' +
    'pino\'s format is the default (tests hold the bytes equal to pino\'s). Smaller: randomUUID() per request (2-3%) became ' +
    'a per-process random part and a counter in the same UUID shape, and the route handler and invokeEndpoint no longer ' +
    'make a promise for a handler that answers at once. Together: 0.67x -> about 0.8x in sequential rounds.\n\n' +
    '**Then: plain calls beside Fastify** (src/service/direct-calls.ts). What remained after the logging fixes was spread ' +
    'thin (measured one thing at a time: the line 5-7%, the onSend hook about 3%, zod\'s checks about 5%, the JSON body ' +
    'parser 1-4%, the request id and its header 2-3%), and most of it was Fastify\'s per-request pipeline itself (routing, ' +
    'request and reply objects, hook runners, the content-type parser), which the anchor pays too but on top of which ' +
    'taskmesh added its own. A service whose app nobody customises (no configureApp, no CORS) now answers a JSON POST of ' +
    'a declared length to a public endpoint of an Available service beside Fastify, with the same parser, invokeEndpoint, ' +
    'error replies, headers and log line (tests hold both paths\' answers and lines equal); everything else goes to Fastify ' +
    'unread. Profiled after: taskmesh spends about the anchor\'s CPU per request (100 vs 104 µs in one profiled run, its ' +
    'own code about 10 µs of it: the line, zod, the reply) while still validating with zod and logging every request. ' +
    'The rounds spread widely on this VM: read the CPU line under the row as much as the median.\n\n' +
    '**Session 5: measured without the machine\'s swings.** Loaded at once (both servers on core 0, both wrk on core 1, ' +
    'eight seconds, user and system CPU per request from /proc; the same server against itself reads 0.985-1.009x), ' +
    'taskmesh read 0.80-0.84x the anchor\'s CPU per request at the start of the session. The log line was about 10% of ' +
    'a request (the same service with `logger: false` read 0.95-0.97x): its formatting 2-3%, recording it 1-2%, and ' +
    'not its write (one write per about 31 requests; strace shows the same reads and writes per request as the anchor). ' +
    'Changed: request lines to standard output are now formatted when the turn\'s batch is written, not as each request ' +
    'ends (src/service/logging.ts), and a direct call runs its endpoint through callbacks, one promise reaction where ' +
    'there were three (`invokeEndpointThen`, src/service/endpoint.ts). Each took 1-3% of the CPU per request; together ' +
    'the row, loaded at once, reads 0.85-0.865x in four runs: at the goal, not past it. What remains is the work the ' +
    'issue asks of taskmesh and the anchor does not do (the log line with its duration, the request id and its header, ' +
    'zod\'s checks of input and output). The alternating rounds of this row swing far more than that: the same ' +
    'server\'s rate in one-second windows ranged 8,400-17,800 requests/s here, and the row read 0.74x, 0.83x and ' +
    '0.87x in three runs of the same code this session, and 0.83x and 0.95x in two full runs. The bench now also loads ' +
    'both sides at once (the line above): 0.88-0.94x by CPU per request in those runs.',
  'http-fastify-logged':
    'Context for the row above: the same anchor with `logger: true` (Fastify\'s default logger writes two lines per ' +
    'request through a child logger, taskmesh one line without). taskmesh, logging every request, is ahead of Fastify ' +
    'logging its own.',
  'mcp-sdk':
    'Profiled: taskmesh serves a 2025-era stateless `tools/call` on a direct path (src/mcp/http/stateless.ts), its ' +
    'MCP code is about 5% of its CPU per call, and the SDK anchor, which builds a server per request, spends 4-5x the ' +
    'CPU per call (see the CPU line). **Found and fixed** (src/mcp/context.ts and src/mcp/http/stateless.ts): the ' +
    'same GC problem as the HTTP context had: `mcpContext()` and `directContext()` returned object literals with a ' +
    '`get signal()`, which kept each call\'s request and reply alive through young-generation collections (3.7-4.3 KB ' +
    'promoted and 19-58 µs of GC per call). Both are classes now: on a copy of the compiled build that was 15 bytes ' +
    'and 1.1 µs of GC per call and 15% less CPU per call (243 -> 206 µs); the row went from 3.9-4.2x to 5.2x. The ' +
    'rest of the gap to the HTTP echo was MCP\'s own work per call (the JSON-RPC envelope, the tool result) and Fastify\'s ' +
    'pipeline. **Then: MCP beside Fastify** (src/mcp/http/direct-route.ts): a 2025-era request without a session is now ' +
    'answered beside Fastify, as plain HTTP calls are (HTTP row), by the same stateless serving, with the same answers ' +
    'and log lines (tests compare both paths for 11 kinds of request); what the route reads but does not serve ' +
    '(initialize, a 2026-07-28 request, a batch, bad JSON) goes to Fastify with its body, which the MCP route replays. ' +
    'Measured side by side on one core, old and new build loaded at once: 16-21% less CPU per call (166-179 -> 143-149 µs in the two quieter of three runs); ' +
    'Fastify fell from about 9% of a call\'s CPU to nothing, and the largest part left is the reply\'s write syscall ' +
    '(about 37%).' +
    ' This row sends 2025-era calls (the anchors\' mcp_call.lua). **Since then** the plain 2026-07-28-era `tools/call` has ' +
    'a direct path too (src/mcp/http/modern-call.ts, with the SDK\'s answer byte for byte, tests compare both paths): ' +
    'measured by hand with wrk on the compiled echo service, about 685 µs of server CPU per call through the SDK\'s ' +
    'createMcpHandler, about 165-205 µs on the direct path, level with the 2025-era one.',
  'mcp-session':
    'Added in session 3 as context (no issue names a goal for it): the path of clients that keep a 2025-era session, ' +
    'which the stateless rows above do not measure. It read 0.63x and 0.76x in its first two runs: taskmesh served every ' +
    'message of a session through the SDK v2 web-standard transport, 450-650 µs of CPU per call. Profiled: each request ' +
    'became a web Request and each answer was read back from a web Response stream (node internals about a third of ' +
    'the call), the SDK checked every message with zod (about 10%), GC about 10%. **Fixed in session 4**, in three steps, ' +
    'each measured with this row: (1) a POST of one plain request in a session is answered on the Node response by the ' +
    'session\'s own transport (src/mcp/http/session-transport.ts), with the SDK transport\'s SSE answer (the priming ' +
    'event, every event stored, resumption with Last-Event-ID while the call runs; tests compare both transports\' ' +
    'answers byte for byte): 0.76x -> 1.35x; (2) a plain tools/call in a session runs its tool handler without the ' +
    'session\'s server (src/mcp/http/session-call.ts), keeping the session\'s log level, cancellation, and elicitation ' +
    'and sampling through that server, and (3) both come beside Fastify for a session held in the process: -> about ' +
    '2x, 165 µs of CPU per call (profiled), of which the reply\'s write syscall is about 30%.',
  'gateway-proxy':
    'Profiled side by side (gateway and upstream on one core): the gateway spent less CPU per forwarded request than ' +
    '@fastify/http-proxy (483 vs 525 µs in one profiled run, its own forwarding code about 3%), and its rounds ' +
    'straddle 1.0x; its extra work is one log line per request (the proxy anchor logs nothing), the request id and ' +
    'the X-Forwarded-* headers. **Then: forwarding beside Fastify** (src/gateway/forward.ts): a request for a ' +
    'registered app now skips Fastify\'s routing and request objects, as plain endpoint calls do (HTTP row), with the ' +
    'same relay, error replies, headers and log line (the forwarding tests run on both paths, and compare the log ' +
    'lines). Measured side by side on one core, old and new gateway forwarding to one upstream at once: 7-16% less ' +
    'gateway CPU per request, 11-16% more requests/s. **Session 6: small request bodies read whole** ' +
    '(`WHOLE_BODY_LIMIT`, src/gateway/forward.ts): a body that gives its Content-Length and is at most 64 KiB is read ' +
    'first and handed to undici as one buffer, which writes it with the request head; before, undici pulled it from ' +
    'the request stream, and that machinery cost more than the copy. Old and new gateways, each with its own ' +
    'upstream, all on one core and loaded at once for 8 s (a pair of old ones read 0.96-1.03): old ÷ new CPU per ' +
    'forwarded call 1.16-1.21x (gateway and upstream together), requests/s 1.09-1.18x. This row went from 1.03x to ' +
    '1.36x and 1.53x in the two runs after. A caller who leaves mid-body now never reaches the app (a test holds it). ' +
    '**Session 12: the gateway\'s own HTTP/1.1 client** (src/gateway/http1-pool.ts, http1-reply.ts). Calls to an http: ' +
    'app no longer go through undici\'s Pool, whose general machinery (its request object and header checks, the ' +
    'pool\'s dispatch loop, the WebAssembly parser\'s callbacks, every reply header parsed into an object that the ' +
    'gateway then copied) was 22% of the gateway\'s CPU per forwarded call in `perf`; the new client, which does only ' +
    'what forwarding needs, is about 11%. Old and new gateways, each with its own upstream, on one core, ten ' +
    'alternating rounds from the other core: 318 vs 266 µs per forwarded call (medians, gateway and app together), ' +
    'the new one ahead in all ten. This row went from 1.34x (1.43x by CPU) in the run before to 1.74x (1.73x) in the ' +
    'full run after, and 1.49x (1.56x) in a run of the two gateway rows after that. Streamed uploads and https apps ' +
    'still go over undici.',
  'gateway-fastapi':
    'The goal assumes the anchors\' own relation (bare Node proxy 6,400 vs FastAPI gateway 640 requests/s, their README, ' +
    'on a machine where fastify_echo served 27,000-30,500; here it serves 10,000-17,000). On this VM the bare Node proxy ' +
    'itself measures 5.5-8x the FastAPI gateway (A of the row above ÷ A of this row, same run), so a Node gateway ' +
    'reaches 10x here only well ahead of the bare proxy (it did in session 12, below). Profiled: a forwarded request costs two reads and two writevs (strace; headers and body already go out in ' +
    'one writev each way) and those loopback syscalls are the largest part of the gateway\'s CPU (writev alone 27%); the ' +
    'Python gateway\'s cost is interpreter time, which this machine\'s slow syscalls do not inflate. Pipelining requests ' +
    'to the app would save reads, but undici does not pipeline POSTs or streamed bodies. taskmesh\'s gateway is level with ' +
    'or ahead of the bare proxy (row above); its per-request logging got the same fixes as the HTTP row. In session 3 ' +
    'the gateway forwards beside Fastify (row above: 7-16% less gateway CPU per request), and this row went from ' +
    '6.2-6.5x to 6.8-7.0x; strace still shows two reads and two writevs per forwarded request, the floor for a proxy ' +
    'that does not pipeline. **Loaded at once** (session 5, the line above), this row reads 8.4-10.5x by CPU per request ' +
    'and 10.6-12.9x by rate, against 5.9-6.4x by CPU in the alternating rounds of the same runs, while every other row\'s ' +
    'two CPU figures agree within a few percent. Read by process (by hand, two runs each way), the FastAPI side\'s cost ' +
    'moves most with how it is loaded, its upstream\'s too: the same fastify_echo spends 220-300 µs per request behind ' +
    'the FastAPI gateway, at a few hundred requests/s, and 70-110 µs behind taskmesh\'s gateway, which feeds it many ' +
    'requests per event-loop turn. So the at-once figure is context, not a reading of the goal, which stays missed. ' +
    '**Session 6:** with small request bodies read whole (row above), this row read 7.4x by rate (8.2x by CPU) in a run ' +
    'of the two gateway rows and 6.1x (6.7x) in the full run after it; loaded at once, 11.4-14.3x by rate and ' +
    '9.5-11.5x by CPU. One lever is left, and it is not taken: pipelining requests to the app. On a copy of the ' +
    'build (bodies read whole, undici pipelining 4 or 8 deep over 4 or 8 connections) it took another 16-29% off the ' +
    'CPU per call. But a pipelined connection holds every later reply behind a slow one, and one that breaks loses ' +
    'every call queued on it, calls that can neither be retried (POSTs) nor known to have run; nginx, Envoy and ' +
    'HAProxy do not pipeline to their upstreams for those reasons, and a taskmesh app runs tasks of any length. ' +
    '**Session 10: warm-up.** The taskmesh gateway\'s CPU per request fell over the first rounds of earlier runs ' +
    '(273, 263, 342, then 180-216 µs in the run of 9e22aa8; the proxy anchor\'s likewise). Measured by hand, a fresh ' +
    'gateway and upstream pinned to one core, 2 s loads back to back: 2,100, 3,300, 3,600, 4,500, 5,200 and then ' +
    '5,700-6,100 requests/s, the gateway\'s own CPU per request going from 343 to about 108 µs; loaded again after 15 s ' +
    'idle, it stayed at the steady rate, so it is V8 optimising per call (about 30,000 requests here), not the machine. ' +
    'The 2 s warm-up left three or four rounds measuring it; the warm-up is 8 s per side now, for every row. Profiled ' +
    'warm, the gateway alone (its upstream on the other core): 205 µs of CPU per forwarded request, writev 27%, ' +
    'Node\'s http internals 28%, undici 21%, taskmesh\'s own code 7%: no taskmesh hot spot left to take. ' +
    '**Session 11: the machine\'s wake-ups, and the requests of a turn sent together.** This VM runs nested (its ' +
    'kernel command line has nested_pvm, and guest halt polling is off), and a loopback write that wakes a process on ' +
    'the other core is dear. Measured by hand, the bench\'s layout: the taskmesh gateway spent 98-113 µs of system ' +
    'time per forwarded request with wrk on the other core, 23-26 µs with wrk on its own core (and served more ' +
    'requests/s sharing its core with wrk than beside it); `perf` put 18% of its samples in waking the reader ' +
    '(sock_def_readable). The FastAPI gateway served the same rate either way: its cost is the interpreter\'s. So ' +
    'about 75 µs of each taskmesh request, a quarter of it, is this machine\'s, where it is 3% of a FastAPI one. ' +
    'Writing a turn\'s replies to the callers together (each socket corked until the turn\'s end; the gateway ' +
    'answers about 15 callers per turn here) changed neither the system time nor the CPU per request, so it was not ' +
    'kept. Sending a turn\'s requests to the app together, once the turn\'s reading is done (src/gateway/turn-end.ts), ' +
    'was kept: two gateways, each with its own upstream, on one core, 12 alternating rounds twice with the order ' +
    'swapped, gave 5-6% less CPU per forwarded request, gateway and app together. `perf` also shows 10% of the ' +
    'gateway\'s CPU in V8\'s megamorphic property loads, nearly all inside undici (the pool choosing a connection, ' +
    'its dispatch loop, header parsing). **Session 12: the goal is met.** With the gateway\'s own HTTP/1.1 client ' +
    '(row above: 16% less CPU per forwarded call in paired rounds by hand), this row read 10.8x in the full run ' +
    '(rounds 8.67x-12.7x; 10.3x by CPU per request; 12.5x by CPU loaded at once) and 10.4x in a run of the two ' +
    'gateway rows after it (rounds 7.98x-13.1x; 10.0x by CPU; 13.5x by CPU loaded at once). Read it with the noise ' +
    'floor: the FastAPI gateway cost 2,840-2,890 µs per request in both of these runs against 2,513 µs in the run ' +
    'before the change, while the taskmesh gateway cost 277-289 µs against 276 µs, so part of the rise is the ' +
    'anchor\'s and the machine\'s. The change\'s own share is best read in the row above, whose anchor is Node too ' +
    '(1.43x -> 1.56-1.73x by CPU).',
  launch:
    'Profiled the launched process: its start is module loading and building the app. Fixed in three steps: importing ' +
    'taskmesh loaded undici, the MCP client SDK and yaml in every service (now on first use, commit 3588cf2); registering ' +
    'the Swagger UI plugins cost about a third of `start()` (the docs page and the OpenAPI document are now built on their ' +
    'first request); 1.83x -> 1.70x. Then, this session: the launched process enables V8\'s compile cache ' +
    '(src/launch/child.ts, Node\'s default folder, NODE_DISABLE_COMPILE_CACHE=1 turns it off). Importing zod took 80-120 ms ' +
    'here, Fastify about 100 ms and taskmesh\'s own modules about 60 ms, compiled afresh at every launch; with the cache the ' +
    'import is 20-30% shorter, and the row went 1.70x -> 1.1-1.4x in alternating runs. Every round after the first finds ' +
    'the cache warm, as every launch after a first one does for a user; the anchor is a bare `node fastify_echo.mjs`. What ' +
    'remains is importing zod, which the anchor does not load.',
  client:
    'Profiled the client process: taskmesh\'s own code (validation of input and output, headers, error mapping) is ' +
    'about 7% of its CPU per call; undici and the socket are the rest, for both clients. The row sits at the goal ' +
    'with rounds on both sides of it; its CPU line is the steadier figure. **Session 9:** profiled again (8 s per ' +
    'client, the same service): taskmesh\'s client code 6.1 µs per call and zod 1.3 µs, against 3.4 µs for the raw ' +
    'caller\'s own code (its JSON.stringify and parse), about 4% of a call\'s CPU between them; the rest (undici, the ' +
    'socket, writev about 18%) is the same in both. Since then the two clients also load the service at once (the line ' +
    'above): each then meets the same service, equally busy, and the CPU per call compares at one operating point; ' +
    'it read 0.95x in the first run, where nine alternating rounds gave 0.84x-1.40x.',
  rss:
    'Was 1.39-1.41x (compiled) when importing taskmesh loaded undici, the gateway\'s MCP client SDK and yaml in ' +
    'every service; the core now loads them on first use (commit 3588cf2). Running the .ts sources (`--ts`) adds ' +
    'Node\'s type stripper, about 17 MB more. Measured by import, one at a time, after the rest: zod about 20 MB, Fastify ' +
    '12 MB, taskmesh\'s own modules 6 MB, and the MCP runtime, which loads just after a service starts, about 12 MB (the ' +
    'SDK 5 MB, its Node adapter 3 MB, the servers it builds the rest). The Node adapter, with the web server adapter it ' +
    'brings, now loads on first use (src/mcp/http/node-adapter.ts): only 2025-era sessions, batches and 2026-07-28 ' +
    'requests other than a plain tools/call need it. That took 2-3 MB off the idle service (1.28-1.30x -> 1.24x).',
};
