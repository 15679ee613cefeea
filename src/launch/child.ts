/**
 * Entry of a launched process: `node child.ts`, its spec arriving over the IPC channel. It imports
 * nothing heavy itself (the user's module brings the service stack), so the launch is as fast as
 * that module allows. Also the entry of each cluster worker.
 */
import { enableCompileCache } from 'node:module';
import { isMessage, WORKER_ROLE_ENV, type LaunchSpec, type ParentMessage } from './messages.ts';
import { failureMessage, sendThen, startService } from './serve.ts';
import { removeStalePidFile } from './files.ts';

// V8's code cache for what the service loads (zod, Fastify, taskmesh, the user's modules): every
// launch after the first skips most of their compiling, about a fifth of a launch here (bench/).
// Node's default directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache();

const stopSignals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Until the service serves there is nothing to drain: a stop signal, or (attached) the launcher
 * gone, even killed outright, ends the process at once, though onStartup may never return, and
 * takes the pid file the service wrote on listening with it. Returns what undoes the watch.
 */
function endIfStoppedWhileStarting(spec: LaunchSpec): () => void {
  const unwatch = (): void => {
    for (const signal of stopSignals) process.off(signal, onSignal);
    process.off('disconnect', onLauncherGone);
  };
  function onSignal(signal: NodeJS.Signals): void {
    unwatch();
    removeStalePidFile(spec.pidFile, [process.pid]);
    process.kill(process.pid, signal); // dies of it, as it would have without this watch
  }
  function onLauncherGone(): void {
    removeStalePidFile(spec.pidFile, [process.pid]);
    process.exit(1);
  }
  for (const signal of stopSignals) process.once(signal, onSignal);
  if (!spec.detached) process.once('disconnect', onLauncherGone);
  return unwatch;
}

async function serveOne(spec: LaunchSpec): Promise<void> {
  const unwatch = endIfStoppedWhileStarting(spec);
  const { service, url } = await startService(spec);
  unwatch();
  sendThen({ type: 'ready', url, serverId: service.serverId, pid: process.pid }, () => {});
  let signalled = false;
  for (const signal of stopSignals) {
    process.on(signal, () => {
      // A second signal while draining means "now".
      if (signalled) process.exit(1);
      signalled = true;
      void service.stop();
    });
  }
  // The launcher is gone (even killed outright): an attached service goes with it.
  if (!spec.detached) {
    if (process.connected) process.on('disconnect', () => void service.stop());
    else void service.stop();
  }
  await service.whenDown();
  process.exit(0);
}

async function main(spec: LaunchSpec): Promise<void> {
  if (spec.numWorkers > 1) {
    const { runPrimary } = await import('./cluster.ts');
    await runPrimary(spec);
  } else {
    await serveOne(spec);
  }
}

if (process.env[WORKER_ROLE_ENV] === 'worker') {
  const { runWorker } = await import('./cluster.ts');
  runWorker();
} else if (!process.send) {
  process.stderr.write('taskmesh: this is the entry of a launched service; start services with Service.launch() or `taskmesh launch`.\n');
  process.exit(2);
} else {
  process.once('message', (message: unknown) => {
    if (!isMessage<ParentMessage>(message) || message.type !== 'spec') return;
    main(message.spec).catch((error: unknown) => sendThen(failureMessage(error), () => process.exit(1)));
  });
}
