// Client throughput: `concurrency` calls in flight against the echo service for `seconds`, either
// through taskmesh's typed client or through a raw undici pool sending the same bytes. Run pinned
// to the load core while the service runs on the other; prints calls/s, and calls per second of
// this process's CPU: the service is the slower side, so it caps the raw rate of both clients
// alike, and what the client itself costs shows in its CPU per call.
//   node bench/drivers/client-load.ts typed|undici URL SECONDS CONCURRENCY WARMUP_SECONDS
import { Pool } from 'undici';
import { connect } from '../../src/client/index.ts';
import { EchoContract } from '../../examples/echo/echo.contract.ts';
import { positional, positiveNumber, report } from './args.ts';

const usage = 'node bench/drivers/client-load.ts typed|undici URL SECONDS CONCURRENCY WARMUP_SECONDS';
const args = positional(usage, ['mode', 'url', 'seconds', 'concurrency', 'warmup']);
const seconds = positiveNumber(args.seconds!, 'SECONDS');
const concurrency = positiveNumber(args.concurrency!, 'CONCURRENCY');
const warmup = Number(args.warmup);

type Call = () => Promise<unknown>;
let call: Call;
let close: () => Promise<void>;
if (args.mode === 'typed') {
  const cm = await connect(args.url!, EchoContract);
  call = () => cm.echo({ message: 'hello world' });
  close = () => cm.close();
} else if (args.mode === 'undici') {
  const url = new URL(args.url!);
  const pool = new Pool(url.origin);
  const path = `${url.pathname.replace(/\/$/, '')}/echo`;
  call = async () => {
    // What a caller of raw undici does per call: serialise its input (the bytes the typed client
    // sends: the input with the default delay filled in), send it, parse the JSON reply.
    const body = JSON.stringify({ message: 'hello world', delay: 0 });
    const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
    const json = await response.body.json();
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}: ${JSON.stringify(json)}`);
    return json;
  };
  close = () => pool.close();
} else {
  console.error(`usage: ${usage}`);
  process.exit(2);
}

/** Keep `concurrency` calls in flight until `until`; count the calls that complete within [from, until). */
async function load(from: number, until: number): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await call();
        if (performance.now() >= from) done += 1;
      }
    }),
  );
  return done;
}

const start = performance.now();
await load(start + warmup * 1000, start + warmup * 1000);
const from = performance.now();
const cpu = process.cpuUsage();
const calls = await load(from, from + seconds * 1000);
const elapsed = (performance.now() - from) / 1000;
const used = process.cpuUsage(cpu);
await close();
const cpuMicros = used.user + used.system;
report({ mode: args.mode, calls, seconds: elapsed, callsPerSecond: calls / elapsed, callsPerCpuSecond: (calls * 1e6) / cpuMicros, cpuMicrosPerCall: cpuMicros / calls });
