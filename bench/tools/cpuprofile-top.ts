// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, so
// that a missed goal can be traced to its cause without a GUI.
// Usage: node bench/tools/cpuprofile-top.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface Hotspot { name: string; micros: number; share: number }

/** Self time per function and per package (node_modules/<pkg>, node: internals, or the project's own files). */
export function summarise(profile: Profile): { functions: Hotspot[]; packages: Hotspot[]; totalMicros: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += micros;
    const where = frame.url.replace(/^file:\/\//, '');
    const fn = `${frame.functionName || '(anonymous)'} ${where ? `${shorten(where)}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
    const pkg = packageOf(where, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  }
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

if (import.meta.main) {
  const [file, count = '25'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/tools/cpuprofile-top.ts FILE.cpuprofile [N]');
    process.exit(2);
  }
  const { functions, packages, totalMicros } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const line = (h: Hotspot) => `${(h.share * 100).toFixed(1).padStart(5)}%  ${(h.micros / 1000).toFixed(0).padStart(6)} ms  ${h.name}`;
  console.log(`total sampled: ${(totalMicros / 1000).toFixed(0)} ms\n\nby package:`);
  for (const h of packages.slice(0, 15)) console.log(line(h));
  console.log(`\nby function (self time):`);
  for (const h of functions.slice(0, Number(count))) console.log(line(h));
}
