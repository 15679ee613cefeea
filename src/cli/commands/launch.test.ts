import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServerStatus, statusAtHost } from '../../index.ts';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { runCli, startCli, stopCli, type CliRun } from '../../../test/helpers/cli.ts';
import { childrenOf, groupMembers, killGroup, waitFor } from '../../../test/helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-cli-launch-'));
const env = { TASKMESH_LOG_DIR: join(dir, 'logs'), TASKMESH_PID_DIR: join(dir, 'pids') };

const runs: CliRun[] = [];
const groups: number[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) stopCli(run);
  for (const pgid of groups.splice(0)) killGroup(pgid);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const echo = 'examples/echo/echo.service.ts#EchoService';
const failing = 'test/fixtures/launch/failing.service.ts';

/** The pid in a launch failure message, to check that nothing of it is left. */
function failedPid(stderr: string): number {
  const match = /Its process \(pid (\d+)\)/.exec(stderr);
  if (!match) throw new Error(`no pid in: ${stderr}`);
  return Number(match[1]);
}

describe('taskmesh launch --detach', () => {
  it('returns once the service answers, prints where it serves as JSON, and leaves it running', async () => {
    const result = await runCli(['launch', echo, '--host', '127.0.0.1', '--port', '0', '--detach', '--json'], { env });
    expect(result.code).toBe(0);
    const served = JSON.parse(result.stdout) as { url: string; pid: number; serverId: string; logFile: string; pidFile: string };
    groups.push(served.pid);
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(served.logFile.startsWith(join(dir, 'logs', 'EchoService-'))).toBe(true);
    expect(served.pidFile.startsWith(join(dir, 'pids', 'EchoService-'))).toBe(true);
    const cm = await EchoService.connect(served.url);
    expect(cm.serverId).toBe(served.serverId);
    await expect(cm.echo({ message: 'detached' })).resolves.toEqual({ echoed: 'detached' });
    await cm.shutdown();
    await cm.close();
    await waitFor(() => groupMembers(served.pid).length === 0, 10_000, 'the service to exit');
  });

  it('says where it serves, for people', async () => {
    const result = await runCli(['launch', echo, '--host', '127.0.0.1', '--port', '0', '--detach'], { env });
    expect(result.code).toBe(0);
    const match = /^examples\/echo\/echo\.service\.ts#EchoService serves at (http:\/\/127\.0\.0\.1:\d+) \(pid (\d+); log: (.+)\)\. Stop it with: taskmesh shutdown \1\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    groups.push(Number(match![2]));
    const stopped = await runCli(['shutdown', match![1]!], { env });
    expect(stopped.code).toBe(0);
  });
});

describe('taskmesh launch (foreground)', () => {
  it('shows the service\'s logs, and Ctrl-C stops the service and then the command, with exit code 0', async () => {
    const run = startCli(['launch', echo, '--host', '127.0.0.1', '--port', '0'], { env });
    runs.push(run);
    const [line] = (await once(createInterface({ input: run.child.stdout! }), 'line')) as [string];
    const [, url, pid] = /serves at (\S+) \(pid (\d+);/.exec(line)!;
    groups.push(Number(pid));
    expect(await statusAtHost(url!)).toBe(ServerStatus.Available);
    await waitFor(() => run.stderr().includes('EchoService available at'), 5_000, 'the service log on stderr');
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(groupMembers(Number(pid))).toEqual([]);
    expect(await statusAtHost(url!)).toBe(ServerStatus.Down);
  });

  it('Ctrl-C while the service still starts stops it at once, with exit code 130 and a line that says so', async () => {
    const run = startCli(['launch', `${failing}#NeverReady`, '--host', '127.0.0.1', '--port', '0'], { env });
    runs.push(run);
    await waitFor(() => run.stderr().includes('warming up forever'), 20_000, 'the service to start its onStartup');
    const services = childrenOf(run.child.pid!);
    expect(services).toHaveLength(1);
    groups.push(...services);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`taskmesh launch: ${failing}#NeverReady was stopped before it served, as asked.`);
    expect(result.stderr).not.toContain('failed to launch');
    expect(groupMembers(services[0]!)).toEqual([]);
    // The pid file it wrote on listening went with it.
    expect(readdirSync(join(dir, 'pids')).filter((name) => name.startsWith('NeverReady-'))).toEqual([]);
  });

  it('exits with code 1 when the service dies after it served', async () => {
    const run = startCli(['launch', 'test/fixtures/launch/probe.service.ts#ProbeService', '--host', '127.0.0.1', '--port', '0', '--json'], { env });
    runs.push(run);
    const [line] = (await once(createInterface({ input: run.child.stdout! }), 'line')) as [string];
    const served = JSON.parse(line) as { url: string; pid: number };
    groups.push(served.pid);
    const call = await runCli(['call', served.url, 'exit', 'code=9'], { env });
    expect(call.code).toBe(0);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`taskmesh launch: ProbeService at ${served.url} stopped unexpectedly. Its process (pid ${served.pid}) exited with code 9.`);
  });
});

describe('taskmesh launch failures', () => {
  it('exits with code 7 when the constructor throws, with the cause and its output, and leaves no process', async () => {
    const result = await runCli(['launch', `${failing}#ThrowsInConstructor`, '--port', '0'], { env });
    expect(result.code).toBe(7);
    expect(result.stderr).toContain('taskmesh launch: ThrowsInConstructor failed to launch at http://localhost:0: the constructor of ThrowsInConstructor threw: no database configured: set DB_URL.');
    // In the foreground the service's own output came first, on the terminal.
    expect(result.stderr.indexOf('Error: no database configured')).toBeLessThan(result.stderr.indexOf('taskmesh launch:'));
    expect(groupMembers(failedPid(result.stderr))).toEqual([]);
  });

  it('exits with code 7 when the module is not found, or the export is not a Service', async () => {
    const missing = await runCli(['launch', 'no/such/module.ts#Nope', '--port', '0', '--detach'], { env });
    expect(missing.code).toBe(7);
    expect(missing.stderr).toContain('cannot import file://');
    expect(missing.stderr).toContain('Last lines of its log');
    const notService = await runCli(['launch', `${failing}#notAService`, '--port', '0', '--detach'], { env });
    expect(notService.code).toBe(7);
    expect(notService.stderr).toContain('is not a Service class');
    expect(groupMembers(failedPid(missing.stderr))).toEqual([]);
    expect(groupMembers(failedPid(notService.stderr))).toEqual([]);
  });

  it('exits with code 6 when the service does not answer within --timeout', async () => {
    const result = await runCli(['launch', `${failing}#NeverReady`, '--port', '0', '--timeout', '1000', '--detach'], { env });
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('it did not serve within 1000 ms');
    await waitFor(() => groupMembers(failedPid(result.stderr)).length === 0, 3_000, 'the killed process to be gone');
  });

  it('exits with code 7 when a service already answers at the URL', async () => {
    await using running = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    await running.start();
    const result = await runCli(['launch', echo, '--url', running.url], { env });
    expect(result.code).toBe(7);
    expect(result.stderr).toBe(`taskmesh launch: Cannot launch EchoService at ${running.url}: a service already answers there (status Available). Stop it (\`taskmesh shutdown ${running.url}\`), connect to it instead, or choose another port (port 0 picks a free one).\n`);
  });

  it.each([
    [[], 'launch takes one module'],
    [[echo, '--workers', '0'], '--workers takes a whole number of at least 1, got "0"'],
    [[echo, '--port', 'eighty'], '--port takes a whole number of at least 0, got "eighty"'],
    [[echo, '--url', 'http://localhost:1', '--port', '2'], 'Give --url, or --host and --port, not both.'],
    [[echo, '--bogus'], "Unknown option '--bogus'"],
  ])('exits with code 2 for wrong arguments: %j', async (args, message) => {
    const result = await runCli(['launch', ...args], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: taskmesh launch');
  });
});
