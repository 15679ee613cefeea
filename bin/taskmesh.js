#!/usr/bin/env node
// The taskmesh command. Installed as a package (under node_modules, where Node will not strip
// types) it runs the compiled dist/; from a checkout of the repository it runs the TypeScript
// sources, re-executing itself with --experimental-strip-types on Node 22.12 to 22.17.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`taskmesh needs Node.js 22.12 or newer; this is ${process.version}.\n`);
  process.exit(1);
}

const dist = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const installed = fileURLToPath(import.meta.url).split(/[\\/]/).includes('node_modules');
const useSource = existsSync(source) && (!installed || !existsSync(dist));

if (useSource && !process.features.typescript) {
  // Type stripping is on by default from Node 22.18; before that it must be asked for.
  const again = spawnSync(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const { main } = await import(useSource ? source.href : dist.href);
process.exitCode = await main(process.argv.slice(2));
