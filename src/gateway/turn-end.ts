/**
 * Work deferred to the end of the event-loop turn's I/O: every job queued while the turn handles
 * its ready sockets runs, in order, once they are all handled (a `setImmediate`, which comes after
 * the poll phase).
 *
 * Why the gateway sends requests to its apps this way: a busy gateway reads many callers'
 * requests in one turn. Sent as each is read, every send wakes the app between two of the
 * gateway's reads; sent together, the gateway reads the whole turn's requests first and the app
 * finds them waiting. Measured with the gateway and its app sharing one core (bench/RESULTS.md,
 * the gateway rows): 5-6% less CPU per forwarded request, gateway and app together. A request
 * waits at most for the rest of its own turn; a quiet gateway's turn holds one request, sent at
 * once.
 */

let queued: (() => void)[] = [];

function runQueued(): void {
  // Jobs queued while these run (a reply that came at once) wait for the next turn's batch.
  const jobs = queued;
  queued = [];
  for (const job of jobs) job();
}

/** Run `job` when this turn's I/O is handled. It must not throw: a throw would drop the jobs after it. */
export function atTurnEnd(job: () => void): void {
  if (queued.push(job) === 1) setImmediate(runQueued);
}
