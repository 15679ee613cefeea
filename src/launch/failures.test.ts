// Every way a launch can fail: each is a LaunchError naming the cause, with the exit code and the
// tail of the process's output, and no process of the launch is left.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, LaunchError } from '../index.ts';
import { ThrowsInConstructor, ThrowsInStartup, NeverReady } from '../../test/fixtures/launch/failing.service.ts';
import { ProbeService } from '../../test/fixtures/launch/probe.service.ts';
import { groupMembers, killGroup, waitFor } from '../../test/helpers/processes.ts';
import { launch } from './launch.ts';

const dir = mkdtempSync(join(tmpdir(), 'taskmesh-launch-failures-'));
process.env.TASKMESH_LOG_DIR = join(dir, 'logs');
process.env.TASKMESH_PID_DIR = join(dir, 'pids');

const failed: LaunchError[] = [];
afterEach(() => {
  for (const error of failed.splice(0)) if (error.pid) killGroup(error.pid);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const local = { host: '127.0.0.1', port: 0, progress: false } as const;
const fixtures = 'test/fixtures/launch';

async function launchFailure(promise: Promise<unknown>): Promise<LaunchError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LaunchError);
    failed.push(error as LaunchError);
    return error as LaunchError;
  }
  throw new Error('expected the launch to fail');
}

/**
 * Nothing of the launch is left: no process in its group, no pid file. Processes killed with the
 * group take a moment to be torn down, hence the short wait.
 */
async function expectNothingLeft(error: LaunchError): Promise<void> {
  expect(error.pid).toBeGreaterThan(0);
  await waitFor(() => groupMembers(error.pid!).length === 0, 3_000, `the processes of group ${error.pid} to be gone`);
  expect(readdirSync(join(dir, 'pids'))).toEqual([]);
}

describe('a launch that fails', () => {
  it('because the constructor throws', async () => {
    const error = await launchFailure(ThrowsInConstructor.launch(local));
    expect(error.stage).toBe('construct');
    expect(error.code).toBe(ErrorCodes.LAUNCH_FAILED);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^ThrowsInConstructor failed to launch at http:\/\/127\.0\.0\.1:0: the constructor of ThrowsInConstructor threw: no database configured: set DB_URL\. Its process \(pid \d+\) exited with code 1\.\nLast lines of its log \(.*ThrowsInConstructor-.*\.log\):\n/);
    expect(error.logTail).toContain('Error: no database configured: set DB_URL');
    await expectNothingLeft(error);
  });

  it('because onStartup throws', async () => {
    const error = await launchFailure(ThrowsInStartup.launch(local));
    expect(error.stage).toBe('onStartup');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('failed to launch at http://127.0.0.1:0: onStartup of ThrowsInStartup threw: model store unreachable. Its process');
    // What the service wrote to stderr before it failed is in the message.
    expect(error.logTail).toContain('connecting to the model store');
    expect(error.message).toContain('connecting to the model store');
    await expectNothingLeft(error);
  });

  it('because the module is not found', async () => {
    const error = await launchFailure(launch(`${fixtures}/no-such-module.ts#Missing`, local));
    expect(error.stage).toBe('import');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^Missing failed to launch at http:\/\/127\.0\.0\.1:0: cannot import file:\/\/\/.*\/test\/fixtures\/launch\/no-such-module\.ts: Cannot find module .*no-such-module\.ts.*\. Check the path \(relative paths are relative to the working directory\)\. Its process \(pid \d+\) exited with code 1\./);
    await expectNothingLeft(error);
  });

  it('because the export is not a Service class', async () => {
    const error = await launchFailure(launch(`${fixtures}/failing.service.ts#notAService`, local));
    expect(error.stage).toBe('export');
    expect(error.message).toContain('the export "notAService" of file://');
    expect(error.message).toContain('is not a Service class: it is an object (Object). Export a class that extends Service.for(contract, import.meta.url).');
    const fn = await launchFailure(launch(`${fixtures}/failing.service.ts#plainFunction`, local));
    expect(fn.message).toContain('is not a Service class: it is the function or class plainFunction, which does not extend Service.');
    await expectNothingLeft(error);
    await expectNothingLeft(fn);
  });

  it('because the module has no such export', async () => {
    const error = await launchFailure(launch(`${fixtures}/failing.service.ts#Missing`, local));
    expect(error.stage).toBe('export');
    expect(error.message).toMatch(/has no export named "Missing" \(its exports: NeverReady, ThrowsInConstructor, ThrowsInStartup, notAService, plainFunction\)\./);
    await expectNothingLeft(error);
  });

  it('because the module exports no Service class, or several, and none is named', async () => {
    const none = await launchFailure(launch('test/helpers/free-port.ts', local));
    expect(none.stage).toBe('export');
    expect(none.message).toMatch(/test\/helpers\/free-port\.ts exports no Service class \(its exports: freePort\)\./);
    const several = await launchFailure(launch(`${fixtures}/failing.service.ts`, local));
    expect(several.message).toMatch(/failing\.service\.ts exports several Service classes \(NeverReady, ThrowsInConstructor, ThrowsInStartup\): name one, as module#Export\./);
    await expectNothingLeft(none);
    await expectNothingLeft(several);
  });

  it('because the class is not exported from the module it says it is in', async () => {
    // Defined here, it inherits the module URL of ProbeService, which does not export it.
    class LocalProbe extends ProbeService {}
    const error = await launchFailure(LocalProbe.launch(local));
    expect(error.stage).toBe('export');
    expect(error.message).toContain('LocalProbe is not exported from file://');
    expect(error.message).toContain('give it its own with `static override moduleUrl = import.meta.url`');
    await expectNothingLeft(error);
  });

  it('because the module launches another service at its top level, unguarded', async () => {
    const error = await launchFailure(launch(`${fixtures}/launches-at-top-level.ts#Beta`, local));
    expect(error.stage).toBe('import');
    expect(error.message).toContain('Alpha is launched at the top level of a module that a launched process imports for another service, so every launch would launch it again. Guard launching code with `if (import.meta.main)`');
    await expectNothingLeft(error);
  });

  it('because the process exits while importing the module', async () => {
    const error = await launchFailure(launch(`${fixtures}/exits-early.service.ts#ExitsEarly`, local));
    expect(error.stage).toBe('exit');
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/^ExitsEarly failed to launch at http:\/\/127\.0\.0\.1:0: its process exited before it served\. Its process \(pid \d+\) exited with code 3\./);
    expect(error.logTail).toBe('exits-early: missing configuration file, giving up');
    await expectNothingLeft(error);
  });

  it('because it does not serve within the timeout', async () => {
    const error = await launchFailure(NeverReady.launch({ ...local, timeout: 1_500 }));
    expect(error.stage).toBe('timeout');
    expect(error.code).toBe(ErrorCodes.TIMEOUT);
    expect(error.signal).toBe('SIGKILL');
    expect(error.message).toMatch(/^NeverReady failed to launch at http:\/\/127\.0\.0\.1:0: it did not serve within 1500 ms \(still importing, constructing or in onStartup\); it was stopped\. Raise `timeout` if it needs longer\. Its process \(pid \d+\) was killed by SIGKILL\./);
    await expectNothingLeft(error);
  });

  it('because the process cannot be made: the environment is too large', async () => {
    // One variable over Linux's limit for a single one (128 KiB) makes the exec fail with E2BIG.
    process.env.TASKMESH_TEST_HUGE = 'x'.repeat(200 * 1024);
    try {
      const error = await launchFailure(ProbeService.launch(local));
      expect(error.stage).toBe('spawn');
      expect(error.pid).toBeUndefined();
      expect(error.message).toMatch(/^ProbeService failed to launch at http:\/\/127\.0\.0\.1:0: it could not be spawned: spawn E2BIG: the environment it inherits is too large for a new process .*; unset or shorten large environment variables\. Its process did not start\./);
      expect(readdirSync(join(dir, 'pids'))).toEqual([]);
    } finally {
      delete process.env.TASKMESH_TEST_HUGE;
    }
  });

  it('because it says it serves but does not answer the first call: it is stopped', async () => {
    const error = await launchFailure(launch(`${fixtures}/refuses-calls.service.ts#RefusesCalls`, local));
    expect(error.stage).toBe('verify');
    expect(error.message).toMatch(/^RefusesCalls failed to launch at http:\/\/127\.0\.0\.1:0: it reported serving at http:\/\/127\.0\.0\.1:\d+, but does not answer there \(.*403.*\)\. Its process \(pid \d+\) /);
    await expectNothingLeft(error);
  });

  it('in a cluster worker: the primary and every worker are gone', async () => {
    const error = await launchFailure(ThrowsInStartup.launch({ ...local, numWorkers: 2 }));
    expect(error.stage).toBe('onStartup');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('onStartup of ThrowsInStartup threw: model store unreachable');
    await expectNothingLeft(error);
  });

  it('in a cluster that times out: the primary and every worker are gone', async () => {
    const error = await launchFailure(NeverReady.launch({ ...local, numWorkers: 2, timeout: 1_500 }));
    expect(error.stage).toBe('timeout');
    await expectNothingLeft(error);
  });
});
