import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchError } from './errors.ts';
import { answers, procCpuSeconds, startServer, type ServerProcess } from './processes.ts';
import { freePort } from './runner.ts';

const started: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proc-'));
  dirs.push(dir);
  return join(dir, 'server.log');
}

/** Running, that is: a zombie (exited, not yet reaped by init) counts as gone. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

// A server in a process group with a child of its own, to show that stop() ends the whole group.
const server = `
const { createServer } = require('node:http');
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('grandchild ' + child.pid);
createServer((req, res) => res.end('{"ok":true}')).listen(Number(process.argv[1]), '127.0.0.1');
`;

describe('startServer', () => {
  it('waits until the server answers, reads its memory and CPU, and stops its whole process group', async () => {
    const port = await freePort();
    const log = logFile();
    const s = await startServer({ name: 'test', command: process.execPath, args: ['-e', server, String(port)], pin: [], logFile: log, ready: answers(`http://127.0.0.1:${port}/`) });
    started.push(s);
    expect(s.rssKiB()).toBeGreaterThan(1000);
    expect(procCpuSeconds(s.pid)).toBeGreaterThanOrEqual(0);
    const grandchild = Number(/grandchild (\d+)/.exec(readFileSync(log, 'utf8'))?.[1]);
    expect(alive(grandchild)).toBe(true);
    await s.stop();
    expect(alive(s.pid)).toBe(false);
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(grandchild)).toBe(false);
  });

  it('a server that exits before answering is an error quoting its log', async () => {
    const port = await freePort();
    const attempt = startServer({
      name: 'crasher',
      command: process.execPath,
      args: ['-e', 'console.error("cannot bind: EADDRINUSE"); process.exit(3)'],
      pin: [],
      logFile: logFile(),
      ready: answers(`http://127.0.0.1:${port}/`),
    });
    await expect(attempt).rejects.toThrow(BenchError);
    await expect(attempt).rejects.toThrow(/crasher .* exited with 3\. Its log .*\n.*cannot bind: EADDRINUSE/);
  });

  it('a server that never answers is stopped after the timeout, with an error saying so', async () => {
    const port = await freePort();
    const attempt = startServer({
      name: 'silent',
      command: process.execPath,
      args: ['-e', 'console.log("started " + process.pid); setInterval(() => {}, 1000)'],
      pin: [],
      logFile: logFile(),
      ready: answers(`http://127.0.0.1:${port}/`),
      timeoutMs: 600,
    });
    const error = await attempt.catch((e: Error) => e);
    expect(error).toBeInstanceOf(BenchError);
    expect((error as Error).message).toMatch(/silent did not answer within 600 ms/);
    const pid = Number(/started (\d+)/.exec((error as Error).message)?.[1]);
    expect(alive(pid)).toBe(false);
  });

  it('a harness stopped by a signal stops its servers too, and dies of that signal', async () => {
    const port = await freePort();
    const log = logFile();
    // The harness runs as \`npm run bench\` does, its servers in process groups of their own.
    const harness = `
      import { answers, startServer, stopServersOnSignals } from ${JSON.stringify(new URL('./processes.ts', import.meta.url).href)};
      stopServersOnSignals();
      const s = await startServer({ name: 'test', command: process.execPath, args: ['-e', ${JSON.stringify(server)}, '${port}'], pin: [], logFile: ${JSON.stringify(log)}, ready: answers('http://127.0.0.1:${port}/') });
      console.log('server ' + s.pid);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', harness], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let pid: number | undefined;
    try {
      pid = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /server (\d+)/.exec(chunk.toString());
          if (match) resolve(Number(match[1]));
        });
        child.once('exit', () => reject(new Error('the harness exited before its server answered')));
      });
      const grandchild = Number(/grandchild (\d+)/.exec(readFileSync(log, 'utf8'))?.[1]);
      expect([alive(pid), alive(grandchild)]).toEqual([true, true]);
      child.kill('SIGTERM');
      expect(await ended).toBe('SIGTERM');
      for (let i = 0; i < 50 && (alive(pid) || alive(grandchild)); i++) await new Promise((r) => setTimeout(r, 20));
      expect([alive(pid), alive(grandchild)]).toEqual([false, false]);
    } finally {
      child.kill('SIGKILL');
      if (pid !== undefined && alive(pid)) process.kill(-pid, 'SIGKILL');
    }
  });

  it('a command that does not exist is an error naming it', async () => {
    const attempt = startServer({ name: 'ghost', command: '/nonexistent/server', args: [], pin: [], logFile: logFile(), ready: async () => false });
    await expect(attempt).rejects.toThrow(/ghost \(\/nonexistent\/server\) exited: spawn \/nonexistent\/server ENOENT/);
  });
});
