// Summarise a V8 .cpuprofile (from `node --cpu-prof`, or `npm run bench -- --cpu-prof`): self time
// by package and by function, so that a missed goal can be traced to its cause without a GUI.
//   node bench/tools/cpuprofile-top.ts FILE.cpuprofile [--top N] [--from-ms MS] [--requests N]
// --from-ms skips the start-up (samples before MS ms into the profile); --requests turns times
// into microseconds per request.
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface Hotspot { name: string; micros: number; share: number }

/** Self time per function and per package (node_modules/<pkg>, node: internals, or the project's own files). */
export function summarise(profile: Profile, fromMicros = 0): { functions: Hotspot[]; packages: Hotspot[]; totalMicros: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let clock = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    clock += micros;
    const frame = byId.get(id)?.callFrame;
    if (clock < fromMicros || !frame || frame.functionName === '(idle)') return;
    total += micros;
    const where = frame.url.replace(/^file:\/\//, '');
    const fn = `${frame.functionName || '(anonymous)'} ${where ? `${shorten(where)}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
    const pkg = packageOf(where, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  });
  const rank = (m: Map<string, number>) =>
    [...m].map(([name, micros]) => ({ name, micros, share: total ? micros / total : 0 })).sort((a, b) => b.micros - a.micros);
  return { functions: rank(functions), packages: rank(packages), totalMicros: total };
}

function shorten(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  return i >= 0 ? path.slice(i + 'node_modules/'.length) : path.replace(/^.*\/(src|bench|examples)\//, '$1/');
}

function packageOf(path: string, functionName: string): string {
  if (!path) return functionName.startsWith('(') ? functionName : '(native)';
  if (path.startsWith('node:')) return 'node: internals';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.slice(path.lastIndexOf('node_modules/')));
  if (match?.[1]) return match[1];
  return shorten(path).split('/').slice(0, 2).join('/');
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const file = args[0];
  if (!file || file.startsWith('--')) {
    console.error('usage: node bench/tools/cpuprofile-top.ts FILE.cpuprofile [--top N] [--from-ms MS] [--requests N]');
    process.exit(2);
  }
  const top = Number(flag(args, '--top') ?? 25);
  const requests = Number(flag(args, '--requests') ?? 0);
  const { functions, packages, totalMicros } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(flag(args, '--from-ms') ?? 0) * 1000);
  const amount = (micros: number) => (requests ? `${(micros / requests).toFixed(2).padStart(7)} µs/req` : `${(micros / 1000).toFixed(0).padStart(6)} ms`);
  const line = (h: Hotspot) => `${(h.share * 100).toFixed(1).padStart(5)}%  ${amount(h.micros)}  ${h.name}`;
  console.log(`busy (not idle): ${amount(totalMicros)}\n\nby package:`);
  for (const h of packages.slice(0, 15)) console.log(line(h));
  console.log('\nby function (self time):');
  for (const h of functions.slice(0, top)) console.log(line(h));
}
