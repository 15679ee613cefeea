/**
 * taskmesh's side runs compiled, as the published package does (tsc output, like the anchors'
 * plain .js), unless --ts asks for the sources under Node's type stripping. The build goes to
 * bench/results/build and is redone only when a source file is newer than the last build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from './errors.ts';

export const BUILD_DIR = join('bench', 'results', 'build');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'results') newest = Math.max(newest, newestSource(path));
    } else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

export function buildTaskmesh(repoRoot: string, log: (line: string) => void): void {
  const stamp = join(repoRoot, BUILD_DIR, '.built-from');
  const newest = Math.max(...['src', 'examples', join('bench', 'servers'), join('bench', 'drivers'), join('bench', 'lib')].map((d) => newestSource(join(repoRoot, d))), statSync(join(repoRoot, 'bench', 'tsconfig.build.json')).mtimeMs);
  if (existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= newest) return;
  log('compiling taskmesh and the bench servers with tsc (bench/tsconfig.build.json) ...');
  try {
    execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'bench', 'tsconfig.build.json')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (error) {
    const out = `${(error as { stdout?: unknown }).stdout ?? ''}${(error as { stderr?: unknown }).stderr ?? ''}`.trim();
    // tsc still emits when only types are wrong; the servers need the files, not a clean type-check.
    if (!existsSync(join(repoRoot, BUILD_DIR, 'bench', 'servers', 'echo-server.js'))) {
      throw new BenchError(`compiling taskmesh failed (run \`npx tsc -p bench/tsconfig.build.json\` to see why, or use --ts):\n${out.slice(0, 800)}`);
    }
    log(`tsc reported type errors; the emitted JavaScript is used anyway:\n${out.slice(0, 400)}`);
  }
  writeFileSync(stamp, String(newest));
}

/** The file to run for one of taskmesh's scripts: its compiled .js, or the .ts source with --ts. */
export function taskmeshScript(repoRoot: string, source: string, fromSource: boolean): string {
  return fromSource ? join(repoRoot, source) : join(repoRoot, BUILD_DIR, source.replace(/\.ts$/, '.js'));
}
