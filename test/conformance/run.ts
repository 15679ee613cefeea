/**
 * Run the MCP conformance suite's active server scenarios against the fixture service, and exit
 * with the suite's exit code (0: every scenario passed, or failed as expected-failures.yml says).
 *
 *   node test/conformance/run.ts [--scenario NAME] [--verbose]
 *
 * The suite's result files go to a temporary folder, printed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mcpUrl } from '../../src/index.ts';
import { ConformanceService } from './fixture.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const suite = fileURLToPath(import.meta.resolve('@modelcontextprotocol/conformance/package.json')).replace(/package\.json$/, 'dist/index.js');
const expectedFailures = join(here, 'expected-failures.yml');

export async function runConformance(extraArgs: string[] = [], output: 'inherit' | 'pipe' = 'inherit', logLevel = 'warn'): Promise<{ code: number; output: string; resultsDir: string }> {
  const service = new ConformanceService({ host: '127.0.0.1', port: 0, logger: { level: logLevel } });
  const url = mcpUrl(await service.start());
  const resultsDir = mkdtempSync(join(tmpdir(), 'taskmesh-conformance-'));
  const args = [suite, 'server', '--url', url, '--output-dir', resultsDir, ...(existsSync(expectedFailures) ? ['--expected-failures', expectedFailures] : []), ...extraArgs];
  try {
    const child = spawn(process.execPath, args, { cwd: resultsDir, stdio: ['ignore', output, output] });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk));
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
    });
    return { code, output: text, resultsDir };
  } finally {
    await service.stop();
  }
}

if (import.meta.main) {
  const { code, resultsDir } = await runConformance(process.argv.slice(2));
  process.stderr.write(`\nMCP conformance suite: exit code ${code}; results in ${resultsDir}\n`);
  process.exitCode = code;
}
