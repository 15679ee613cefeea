// The published package is the compiled dist/: it must build (declarations included, which the
// plain type-check does not emit) and load under Node without type stripping.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

// Inside the repo's node_modules, so that the compiled files resolve its packages as an installed package would.
const cache = join(process.cwd(), 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const outDir = mkdtempSync(join(cache, 'taskmesh-build-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

it('builds JavaScript and declarations that load without type stripping', { timeout: 120_000 }, () => {
  const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { stdio: 'pipe' });
  expect(existsSync(join(outDir, 'index.d.ts'))).toBe(true);
  expect(existsSync(join(outDir, 'client', 'index.d.ts'))).toBe(true);
  const probe = `const m = await import(${JSON.stringify(join(outDir, 'index.js'))});
    console.log([typeof m.Service, typeof m.connect, typeof m.Gateway, typeof m.task].join(','));`;
  const out = execFileSync(process.execPath, ['--no-experimental-strip-types', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  expect(out.trim()).toBe('function,function,function,function');
});
