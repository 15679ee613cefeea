// connect() with a contract, timed: each sample makes a new client (one heartbeat to learn the
// server id, over a new keep-alive pool) and closes it. Prints the median and the samples.
//   node bench/drivers/connect-time.ts URL COUNT
import { connect } from '../../src/client/index.ts';
import { EchoContract } from '../../examples/echo/echo.contract.ts';
import { median, percentile } from '../lib/stats.ts';
import { positional, positiveNumber, report } from './args.ts';

const args = positional('node bench/drivers/connect-time.ts URL COUNT', ['url', 'count']);
const count = positiveNumber(args.count!, 'COUNT');

async function once(): Promise<number> {
  const start = performance.now();
  const cm = await connect(args.url!, EchoContract);
  const elapsed = performance.now() - start;
  await cm.close();
  return elapsed;
}

// The first connects pay for loading code and warming the JIT; a long-running caller pays that once.
for (let i = 0; i < Math.min(50, count); i++) await once();
const samples: number[] = [];
for (let i = 0; i < count; i++) samples.push(await once());
report({ p50Ms: median(samples), p90Ms: percentile(samples, 90), samples: samples.length });
