import { readdirSync, readFileSync } from 'node:fs';

interface ProcInfo {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Is the process running? A zombie (exited, not yet reaped) counts as gone. */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && info.state !== 'Z';
}

function liveProcesses(matches: (info: ProcInfo) => boolean): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info && info.state !== 'Z' && matches(info)) found.push(info.pid);
  }
  return found;
}

/** Live processes of a process group (a launched service and its cluster workers). */
export function groupMembers(pgid: number): number[] {
  return liveProcesses((info) => info.pgrp === pgid);
}

/** Live processes whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  return liveProcesses((info) => info.ppid === ppid);
}

/** Kill a whole group, for afterEach: never leave a test's processes behind. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Poll `check` every 20 ms until it returns a truthy value, or fail after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'the condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
