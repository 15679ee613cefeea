import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyAnchors, detectEnvironment, findExecutable, findPython, isWritableFolder, missingNeed } from './environment.ts';
import { BenchError } from './errors.ts';

const made: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-env-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  }
});

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('findExecutable', () => {
  it('finds an executable file on the given PATH and ignores plain files', () => {
    const dir = folder();
    const tool = script(dir, 'tool', 'exit 0');
    writeFileSync(join(dir, 'plain'), 'not executable');
    expect(findExecutable('tool', `/nonexistent:${dir}`)).toBe(tool);
    expect(findExecutable('plain', dir)).toBeUndefined();
    expect(findExecutable('missing', dir)).toBeUndefined();
  });
});

describe('findPython', () => {
  it('takes the first candidate that imports the anchors\' packages, and notes whether httpx is there', () => {
    const dir = folder();
    const broken = script(dir, 'python-without', 'exit 1');
    // A stand-in python that "has" the packages: prints a version for the first check, "ok" for httpx.
    const good = script(dir, 'python-with', 'case "$2" in *httpx*) echo ok ;; *) echo "3.11.2 fastapi 0.92.0" ;; esac');
    expect(findPython([join(dir, 'nope'), broken, good])).toEqual({ path: good, version: 'Python 3.11.2 fastapi 0.92.0', httpx: true });
    expect(findPython([broken])).toBeUndefined();
  });
});

describe('anchors folder', () => {
  it('a folder whose mode says read-only is treated as read-only, even for root', () => {
    const dir = folder();
    expect(isWritableFolder(dir)).toBe(true);
    chmodSync(dir, 0o555);
    expect(isWritableFolder(dir)).toBe(false);
  });

  it('copies the anchors into a writable folder, keeping executables executable and unchanged files as they are', () => {
    const source = folder();
    writeFileSync(join(source, 'fastify_echo.mjs'), 'v1');
    script(source, 'init.sh', 'echo hi');
    mkdirSync(join(source, 'node_modules'));
    chmodSync(join(source, 'fastify_echo.mjs'), 0o444);
    const target = join(folder(), 'copy');
    copyAnchors(source, target);
    expect(readFileSync(join(target, 'fastify_echo.mjs'), 'utf8')).toBe('v1');
    expect(statSync(join(target, 'fastify_echo.mjs')).mode & 0o777).toBe(0o644);
    expect(statSync(join(target, 'init.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(target, 'node_modules'))).toBe(false);
    chmodSync(join(source, 'fastify_echo.mjs'), 0o644);
    writeFileSync(join(source, 'fastify_echo.mjs'), 'v2');
    copyAnchors(source, target);
    expect(readFileSync(join(target, 'fastify_echo.mjs'), 'utf8')).toBe('v2');
  });

  it('says where it looked and what to set when the anchors are not there', () => {
    const repo = folder();
    expect(() => detectEnvironment({ repoRoot: repo, anchorsSource: join(repo, 'nowhere'), log: () => {} })).toThrow(BenchError);
    expect(() => detectEnvironment({ repoRoot: repo, anchorsSource: join(repo, 'nowhere'), log: () => {} })).toThrow(/not at .*nowhere.*set BENCH_ANCHORS/);
  });
});

describe('detectEnvironment', () => {
  it('reports a missing wrk and python with how to install them, and rows needing them are skipped', () => {
    const repo = folder();
    const anchors = join(repo, 'anchors');
    mkdirSync(anchors);
    writeFileSync(join(anchors, 'fastify_echo.mjs'), '');
    writeFileSync(join(anchors, 'package.json'), '{}');
    // A writable anchors folder is used in place; an install already done (its stamp matches) is not redone.
    mkdirSync(join(anchors, 'node_modules'));
    const stamp = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
    writeFileSync(join(anchors, 'node_modules', '.taskmesh-bench-stamp'), stamp);
    const path = process.env.PATH;
    process.env.PATH = folder();
    try {
      const env = detectEnvironment({ repoRoot: repo, anchorsSource: anchors, pythons: [join(repo, 'no-python')], log: () => {} });
      expect(env.anchors).toBe(anchors);
      expect(env.wrk).toBeUndefined();
      expect(env.missing.wrk).toContain('apt-get install -y wrk');
      expect(env.pinServer).toEqual([]);
      expect(missingNeed(env, ['wrk'])).toBe(env.missing.wrk);
      expect(env.python).toBeUndefined();
      expect(env.missing.python).toContain('apt-get install -y python3-fastapi');
      expect(missingNeed(env, ['python'])).toBe(env.missing.python);
      expect(missingNeed(env, ['httpx'])).toBe(env.missing.python);
    } finally {
      process.env.PATH = path;
    }
  });
});
