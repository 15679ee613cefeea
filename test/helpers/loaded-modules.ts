import { execFileSync } from 'node:child_process';

// Runs in a fresh Node process: records every module that importing the target resolves.
const tracer = `
import { registerHooks } from 'node:module';
const urls = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); urls.add(r.url); return r; } });
await import(process.argv[1]);
console.log(JSON.stringify([...urls]));
`;

/** The npm packages and the project's own files that importing `moduleUrl` loads, in a fresh process. */
export function loadedModules(moduleUrl: string): { packages: string[]; files: string[] } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', tracer, moduleUrl], { encoding: 'utf8' });
  const urls: string[] = JSON.parse(out.trim().split('\n').at(-1)!);
  const packages = new Set<string>();
  const files: string[] = [];
  for (const url of urls) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg) packages.add(pkg);
    else if (url.startsWith('file:')) files.push(new URL(url).pathname);
  }
  return { packages: [...packages], files };
}
