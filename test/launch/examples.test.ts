// The launch examples run as documented: real processes, and nothing left behind.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { groupMembers, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'taskmesh-examples-'));
const env = { ...process.env, TASKMESH_LOG_DIR: join(dir, 'logs'), TASKMESH_PID_DIR: join(dir, 'pids') };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/launch', () => {
  it('launch.ts launches two workers, calls them and stops them', async () => {
    const { stdout } = await run(process.execPath, ['examples/launch/launch.ts'], { env, timeout: 60_000 });
    const [first, ...rest] = stdout.trim().split('\n');
    const [, pid] = /^EchoService at http:\/\/127\.0\.0\.1:\d+ \(pid (\d+); log: .+\)$/.exec(first!)!;
    expect(rest.join('\n')).toBe("{ echoed: 'hello from the launcher' }\nstopped");
    await waitFor(() => groupMembers(Number(pid)).length === 0, 5_000, 'the workers to exit');
    expect(readdirSync(join(dir, 'pids'))).toEqual([]);
  });

  it('script.ts defines a service and launches it from the same file', async () => {
    const { stdout } = await run(process.execPath, ['examples/launch/script.ts'], { env, timeout: 60_000 });
    expect(stdout).toBe("{ greeting: 'Howdy, launcher!' }\n");
    expect(readdirSync(join(dir, 'pids'))).toEqual([]);
  });
});
