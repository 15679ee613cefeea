// Time from "start the service" to its first answered POST /echo, in a fresh process:
//   anchor: spawn `node fastify_echo.mjs PORT` and poll POST /echo every 5 ms until it answers;
//   taskmesh: EchoService.launch({ port: 0 }) and one cm.echo() call.
// The service is stopped afterwards; prints the milliseconds.
//   node bench/drivers/launch-time.ts anchor|taskmesh ANCHOR_FILE PORT
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { positional, report } from './args.ts';

const usage = 'node bench/drivers/launch-time.ts anchor|taskmesh ANCHOR_FILE PORT';
const args = positional(usage, ['mode', 'anchor', 'port']);
const body = JSON.stringify({ message: 'hello world', delay: 0 });

async function answered(url: string): Promise<boolean> {
  try {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

if (args.mode === 'anchor') {
  const start = performance.now();
  const child = spawn(process.execPath, [args.anchor!, args.port!], { stdio: 'ignore', detached: true });
  try {
    const url = `http://127.0.0.1:${args.port}/echo`;
    while (!(await answered(url))) {
      if (child.exitCode !== null) throw new Error(`the anchor exited with ${child.exitCode} before answering`);
      await sleep(5);
    }
    report({ ms: performance.now() - start });
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
} else if (args.mode === 'taskmesh') {
  const start = performance.now();
  const cm = await EchoService.launch({ host: '127.0.0.1', port: 0, progress: false });
  try {
    await cm.echo({ message: 'hello world' });
    report({ ms: performance.now() - start });
  } finally {
    await cm.close();
  }
} else {
  console.error(`usage: ${usage}`);
  process.exit(2);
}
