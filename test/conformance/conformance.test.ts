// The MCP conformance suite's server scenarios, active and pending, against the fixture service.
import { expect, it } from 'vitest';
import { runConformance } from './run.ts';

it('passes every server scenario of @modelcontextprotocol/conformance', { timeout: 180_000 }, async () => {
  const { code, output } = await runConformance(['--suite', 'all'], 'pipe', 'silent');
  const summary = output.slice(output.indexOf('=== SUMMARY ==='));
  expect(summary, output).toMatch(/Total: \d+ passed, 0 failed/);
  expect(code, summary).toBe(0);
});
