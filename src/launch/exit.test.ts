// What happens to launched services when the launching process goes away. The launcher here is a
// real script (test/fixtures/launch/launching-script.ts) that defines its service class itself,
// without exporting it, and launches it at its top level.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServerStatus, statusAtHost } from '../index.ts';
import { connect } from '../client/connect.ts';
import { childrenOf, groupMembers, killGroup, waitFor } from '../../test/helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-launch-exit-'));
const env = { ...process.env, TASKMESH_LOG_DIR: join(dir, 'logs'), TASKMESH_PID_DIR: join(dir, 'pids') };

const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) killGroup(pgid);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Launched {
  script: ChildProcess;
  url: string;
  pid: number;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
  /** Every line the script printed. */
  output: string[];
}

/** Run the launching script and read the URL and pid of the service it launched. */
async function runScript(mode: 'end' | 'exit' | 'throw' | 'wait' | 'handle' | 'detached'): Promise<Launched> {
  const script = spawn(process.execPath, ['test/fixtures/launch/launching-script.ts', mode], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.push(script.pid!);
  // 'close': after its output is all read, not just after it exited.
  const exit = once(script, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  script.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const output: string[] = [];
  const lines = createInterface({ input: script.stdout! });
  lines.on('line', (line) => output.push(line));
  const first = await Promise.race([once(lines, 'line').then(([line]) => line as string), exit.then(() => undefined)]);
  if (!first) throw new Error(`the launching script exited before launching: ${stderr}`);
  const info = JSON.parse(first) as { url: string; pid: number; ping: { pong: boolean } };
  groups.push(info.pid);
  expect(info.ping).toEqual({ pong: true });
  // One process in the service's group, or none already: a script that ends at once may have
  // stopped its service by the time this looks.
  expect(groupMembers(info.pid).filter((pid) => pid !== info.pid)).toEqual([]);
  return { script, url: info.url, pid: info.pid, exit, output };
}

async function expectStopped(launched: Launched): Promise<void> {
  await waitFor(() => groupMembers(launched.pid).length === 0, 10_000, 'the launched service to stop');
  expect(await statusAtHost(launched.url)).toBe(ServerStatus.Down);
  // It stopped gracefully: its pid file is gone too.
  expect(readdirSync(join(dir, 'pids'))).toEqual([]);
}

// Each test starts two Node processes that import the whole stack: give a loaded machine time.
describe('when the launching process goes away, the services it launched stop', { timeout: 60_000 }, () => {
  it('when it ends normally', async () => {
    const launched = await runScript('end');
    expect(await launched.exit).toEqual([0, null]);
    await expectStopped(launched);
  });

  it('when it calls process.exit()', async () => {
    const launched = await runScript('exit');
    expect(await launched.exit).toEqual([0, null]);
    await expectStopped(launched);
  });

  it('when it dies of an uncaught error', async () => {
    const launched = await runScript('throw');
    expect(await launched.exit).toEqual([1, null]);
    await expectStopped(launched);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('on %s, and the launcher still dies of the signal', async (signal) => {
    const launched = await runScript('wait');
    launched.script.kill(signal);
    expect(await launched.exit).toEqual([null, signal]);
    await expectStopped(launched);
  });

  it('when it handles SIGTERM itself: the service is still there until the launcher exits', async () => {
    const launched = await runScript('handle');
    launched.script.kill('SIGTERM');
    expect(await launched.exit).toEqual([0, null]);
    expect(launched.output.at(-1)).toBe(JSON.stringify({ onSigterm: ServerStatus.Available }));
    await expectStopped(launched);
  });

  it('even when it is killed outright (SIGKILL): the service sees its launcher gone', async () => {
    const launched = await runScript('wait');
    launched.script.kill('SIGKILL');
    expect(await launched.exit).toEqual([null, 'SIGKILL']);
    await expectStopped(launched);
  });
});

describe('a launcher killed outright while its service still starts', { timeout: 60_000 }, () => {
  it('takes the service with it, even one whose onStartup never returns', async () => {
    const code = `import { NeverReady } from './test/fixtures/launch/failing.service.ts';
      await NeverReady.launch({ host: '127.0.0.1', port: 0, progress: false, timeout: 120_000 });`;
    const script = spawn(process.execPath, ['--input-type=module', '-e', code], { env, stdio: 'ignore', detached: true });
    groups.push(script.pid!);
    const exit = once(script, 'close');
    const logs = join(dir, 'logs');
    const startedOnStartup = () => readdirSync(logs).some((name) => name.startsWith('NeverReady-') && readFileSync(join(logs, name), 'utf8').includes('warming up forever'));
    await waitFor(() => existsSync(logs) && startedOnStartup(), 20_000, 'the service to be in its onStartup');
    const [service] = childrenOf(script.pid!);
    expect(service).toBeDefined();
    groups.push(service!);
    script.kill('SIGKILL');
    await exit;
    await waitFor(() => groupMembers(service!).length === 0, 10_000, 'the starting service to exit');
  });
});

describe('detached: true', { timeout: 60_000 }, () => {
  it('keeps the service running after the launcher has ended', async () => {
    const launched = await runScript('detached');
    expect(await launched.exit).toEqual([0, null]);
    expect(groupMembers(launched.pid)).toEqual([launched.pid]);
    const cm = await connect(launched.url);
    expect(await cm.call('ping')).toEqual({ pong: true });
    await cm.shutdown();
    await cm.close();
    await expectStopped(launched);
  });
});
