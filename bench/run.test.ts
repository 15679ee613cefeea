import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { rows } from './lib/rows.ts';

const run = promisify(execFile);
const script = join(import.meta.dirname, 'run.ts');

async function bench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run bench', () => {
  it('--list names every row of issue 6 with its anchor', async () => {
    const { code, stdout } = await bench('--list');
    expect(code).toBe(0);
    for (const id of ['http-fastify', 'http-fastapi', 'mcp-sdk', 'mcp-own-http', 'gateway-proxy', 'gateway-fastapi', 'launch', 'client', 'connect', 'rss']) {
      expect(stdout).toMatch(new RegExp(`^${id} `, 'm'));
    }
    expect(stdout.trim().split('\n')).toHaveLength(rows.length);
    expect(stdout).toContain('(vs fastify_echo.mjs)');
  });

  it('--help shows the options', async () => {
    const { code, stdout } = await bench('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--quick');
    expect(stdout).toContain('BENCH_ANCHORS');
  });

  it('a bad option or an unknown row exits 2 with what to do', async () => {
    expect(await bench('--rounds', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('--rounds must be a whole number') });
    expect(await bench('--only', 'nope')).toMatchObject({ code: 2, stderr: expect.stringContaining('no row nope; --list shows them.') });
  });

  it('names the anchors folder when it is missing', async () => {
    const { code, stderr } = await run(process.execPath, [script, '--only', 'rss'], { env: { ...process.env, BENCH_ANCHORS: '/nonexistent/anchors' } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(code).toBe(2);
    expect(stderr).toContain('The anchors are not at /nonexistent/anchors');
  });
});
