/**
 * Services launched without `detached` stop when their launcher does: on a normal exit, and on
 * SIGINT, SIGTERM or SIGHUP that nothing else handles. Each launched service leads its own process group (so cluster workers
 * go with it), and the group gets SIGTERM, which the service answers with a graceful stop.
 * A launcher killed outright (SIGKILL) cannot run this; its children notice the closed IPC channel
 * and stop themselves (see child.ts).
 */

const groups = new Set<number>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

/** Send a signal to a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function stopAll(): void {
  for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
  groups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener means the program handles the signal itself and decides when to exit (it may
  // still need its services meanwhile): they are stopped when it does exit.
  if (process.listenerCount(signal) > 1) return;
  // Otherwise, do what Node would have done without our listener, and die of the signal.
  stopAll();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', stopAll);
  for (const signal of signals) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', stopAll);
  for (const signal of signals) process.off(signal, onSignal);
}

/** Stop this process group when the launcher exits. */
export function stopOnExit(pgid: number): void {
  groups.add(pgid);
  install();
}

/** The group stopped by itself, or was detached: forget it. */
export function forget(pgid: number): void {
  groups.delete(pgid);
  if (groups.size === 0) uninstall();
}
