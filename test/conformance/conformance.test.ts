// The MCP conformance suite's server scenarios, active and pending, against the fixture service.
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runConformance } from './run.ts';

it('passes every server scenario of @modelcontextprotocol/conformance', { timeout: 180_000 }, async () => {
  const { code, output, resultsDir } = await runConformance(['--suite', 'all'], 'pipe', 'silent');
  // The suite's own result files are only worth keeping when something failed.
  if (code === 0) rmSync(resultsDir, { recursive: true, force: true });
  const summary = output.slice(output.indexOf('=== SUMMARY ==='));
  expect(summary, output).toMatch(/Total: \d+ passed, 0 failed/);
  expect(code, summary).toBe(0);
});
