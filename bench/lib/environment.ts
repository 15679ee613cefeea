/**
 * What the benchmark needs from the machine: wrk, taskset and two cores, a python3 with the
 * Python anchors' packages, and the anchors folder with its npm packages installed (in a writable
 * copy when the folder is read-only). Anything missing is reported with how to install it, and the
 * rows that need it are skipped.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { BenchError } from './errors.ts';

export type Need = 'wrk' | 'python' | 'httpx';

export interface Environment {
  repoRoot: string;
  /** The Node that runs every Node server and driver: the repo's own (Node 24), for both sides. */
  node: string;
  nodeVersion: string;
  wrk: string | undefined;
  wrkVersion: string | undefined;
  /** Prefixes that pin the server to core 0 and the load to core 1; empty without taskset or a second core. */
  pinServer: string[];
  pinLoad: string[];
  python: { path: string; version: string; httpx: boolean } | undefined;
  /** The anchors folder the servers run from (node_modules installed). */
  anchors: string;
  /** Where the anchors came from. */
  anchorsSource: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; loadAverage: number[] };
  /** One line per missing tool: what it costs and how to install it. */
  missing: Partial<Record<Need | 'taskset', string>>;
}

const APT_PYTHON = 'apt-get install -y python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-httpx';

export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function output(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();
  } catch (error) {
    // wrk -v exits 1 after printing its version.
    const stdout = (error as { stdout?: string }).stdout;
    return stdout ? stdout.trim() : undefined;
  }
}

/**
 * The first python3 that imports FastAPI, uvicorn, uvloop and httptools. Debian's packages go to
 * /usr/bin/python3, which a pyenv or venv python3 earlier on PATH does not see, so it is tried first.
 */
export function findPython(candidates: string[]): Environment['python'] {
  for (const candidate of candidates) {
    const path = candidate.includes('/') ? candidate : findExecutable(candidate);
    if (!path || !existsSync(path)) continue;
    const version = output(path, ['-c', 'import fastapi, pydantic, uvicorn, uvloop, httptools, sys; print(sys.version.split()[0], "fastapi", fastapi.__version__)']);
    if (!version) continue;
    const httpx = output(path, ['-c', 'import httpx; print("ok")']) === 'ok';
    return { path, version: `Python ${version}`, httpx };
  }
  return undefined;
}

/** Read-only by its mode bits too: root may write anywhere, but a folder marked read-only is not ours to change. */
export function isWritableFolder(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return false;
  }
  return (statSync(dir).mode & 0o200) !== 0;
}

function stamp(dir: string): string {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) {
    if (existsSync(join(dir, file))) hash.update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex');
}

/** Copy the anchors' files (not their node_modules) into `target`, writable, keeping what is unchanged. */
export function copyAnchors(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
    if (existsSync(to)) chmodSync(to, 0o644);
    copyFileSync(from, to);
    chmodSync(to, statSync(from).mode & 0o111 ? 0o755 : 0o644);
  }
}

/** The anchors' npm packages, installed once and again only when their package files change. */
export function installAnchors(dir: string, log: (line: string) => void): void {
  const marker = join(dir, 'node_modules', '.taskmesh-bench-stamp');
  const want = stamp(dir);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  log(`installing the anchors' npm packages in ${dir} (once) ...`);
  const npm = findExecutable('npm');
  if (!npm) throw new BenchError('npm is not on PATH; the anchors need `npm install` in their folder. Run the benchmark with `npm run bench`.');
  try {
    execFileSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message);
    throw new BenchError(`npm install in ${dir} failed:\n${stderr.trim().slice(-800)}`);
  }
  if (!existsSync(join(dir, 'node_modules', 'fastify', 'package.json'))) {
    throw new BenchError(`npm install in ${dir} finished but fastify is not in its node_modules; look at ${dir}/package.json.`);
  }
  writeFileSync(marker, want);
}

export interface EnvironmentOptions {
  repoRoot: string;
  /** BENCH_ANCHORS, else ../shared/anchors next to the repo. */
  anchorsSource?: string | undefined;
  /** Pythons to try: BENCH_PYTHON, else /usr/bin/python3, else python3 on PATH. */
  pythons?: string[] | undefined;
  log: (line: string) => void;
}

export function detectEnvironment(options: EnvironmentOptions): Environment {
  const { repoRoot, log } = options;
  // The anchors first: without them nothing can run, so say so before probing anything else.
  const anchorsSource = resolve(options.anchorsSource ?? join(repoRoot, '..', 'shared', 'anchors'));
  if (!existsSync(join(anchorsSource, 'fastify_echo.mjs'))) {
    throw new BenchError(`The anchors are not at ${anchorsSource} (no fastify_echo.mjs there). Put the shared anchors folder next to the repo, or set BENCH_ANCHORS to it.`);
  }
  let anchors = anchorsSource;
  if (!isWritableFolder(anchorsSource)) {
    // bench/results/ is ignored by git and eslint: the copy and its node_modules stay out of both.
    anchors = join(repoRoot, 'bench', 'results', 'anchors');
    copyAnchors(anchorsSource, anchors);
  }
  installAnchors(anchors, log);

  const missing: Environment['missing'] = {};

  const wrk = findExecutable('wrk');
  if (!wrk) missing.wrk = 'wrk is not installed: every throughput row is skipped. Install it with `apt-get install -y wrk`.';
  const wrkVersion = wrk ? output(wrk, ['-v'])?.split(' [')[0] : undefined;

  const cores = availableParallelism();
  const taskset = findExecutable('taskset');
  const pinned = Boolean(taskset) && cores >= 2;
  if (!taskset) missing.taskset = 'taskset is not installed: servers and load share every core, which makes ratios noisier. It comes with `apt-get install -y util-linux`.';
  else if (cores < 2) missing.taskset = `this machine has ${cores} core: servers and load cannot be pinned apart.`;

  const python = findPython(options.pythons ?? ['/usr/bin/python3', 'python3']);
  if (!python) missing.python = `no python3 here imports fastapi, uvicorn, uvloop and httptools: the FastAPI rows are skipped. Install them with \`${APT_PYTHON}\` (they go to /usr/bin/python3), or point BENCH_PYTHON at a python3 that has them.`;
  else if (!python.httpx) missing.httpx = `${python.path} lacks httpx: the FastAPI gateway row is skipped. Install it with \`apt-get install -y python3-httpx\`.`;


  return {
    repoRoot,
    node: process.execPath,
    nodeVersion: process.version,
    wrk,
    wrkVersion,
    pinServer: pinned ? [taskset!, '-c', '0'] : [],
    pinLoad: pinned ? [taskset!, '-c', '1'] : [],
    python,
    anchors,
    anchorsSource,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      loadAverage: loadavg(),
    },
    missing,
  };
}

/** Why a row cannot run here, or undefined when it can. */
export function missingNeed(env: Environment, needs: readonly Need[]): string | undefined {
  for (const need of needs) {
    if (need === 'wrk' && !env.wrk) return env.missing.wrk;
    if (need === 'python' && !env.python) return env.missing.python;
    if (need === 'httpx' && !env.python?.httpx) return env.missing.httpx ?? env.missing.python;
  }
  return undefined;
}
