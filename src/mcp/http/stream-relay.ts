/**
 * Resuming a 2025-era session's SSE stream in another cluster worker. The events of a stream are
 * stored in the worker that ran its request, and a client's GET with Last-Event-ID lands on
 * whichever worker the cluster gives its new connection. Event ids name their worker (`3_17`), so
 * the worker that receives the GET asks the one that holds the stream, through the primary, and
 * relays what it sends: the events the client missed, and, while the request runs, every event
 * after them, until the response ends the stream.
 *
 * Only between workers of a taskmesh cluster primary (src/launch/cluster.ts), which passes the
 * messages on and says when a worker is gone; it sets STREAM_RELAY_ENV in its workers.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ResumedElsewhere, StreamOutput } from './session-transport.ts';

/** The IPC message type of relayed streams, between workers and through their primary. */
export const MCP_STREAM = 'taskmesh:mcp-stream';

/** Set to 1 in the workers of a primary that relays their streams. */
export const STREAM_RELAY_ENV = 'TASKMESH_MCP_STREAM_RELAY';

/** How long the asking worker waits for the holder's first answer before giving the stream up. */
const ANSWER_TIMEOUT_MS = 10_000;

type Outcome = ResumedElsewhere['outcome'];

type StreamMessage = { type: typeof MCP_STREAM; from?: number } & (
  | { op: 'resume'; to: number; key: string; session: string; lastEventId: string }
  | { op: 'opened'; to: number; key: string; outcome: Outcome; events: string; ended: boolean }
  | { op: 'data' | 'end'; to: number; key: string; events: string }
  | { op: 'detach'; to: number; key: string }
  /** From the primary: a worker exited, and the streams it held with it. */
  | { op: 'gone'; worker: number }
);

function isStreamMessage(message: unknown): message is StreamMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === MCP_STREAM;
}

/** In a cluster primary: pass a stream message to the worker it is for. True when `message` was one. */
export function relayMcpStream(from: Worker, message: unknown): boolean {
  if (!isStreamMessage(message)) return false;
  if (message.op === 'gone') return true;
  const target = cluster.workers?.[message.to];
  if (target?.isConnected()) target.send({ ...message, from: from.id });
  else if (message.op === 'resume') {
    from.send({ type: MCP_STREAM, op: 'opened', to: from.id, from: message.to, key: message.key, outcome: 'unknown', events: '', ended: true } satisfies StreamMessage);
  }
  return true;
}

/** In a cluster primary: tell the other workers that `worker` is gone, and the streams it held. */
export function announceWorkerGone(worker: Worker): void {
  for (const other of Object.values(cluster.workers ?? {})) {
    if (other && other !== worker && other.isConnected()) other.send({ type: MCP_STREAM, op: 'gone', worker: worker.id } satisfies StreamMessage);
  }
}

/** How the asking worker answers its client, by what the holder said. */
export interface RelayedAnswer {
  /** The stream goes on, or its stored events are replayed: open the client's SSE response. */
  open(): void;
  /** The holder did not know the event, or is gone: answer as if nobody held it. */
  unknown(): void;
  conflict(): void;
  /** The events the session's GET stream missed: open a GET stream here, after them. */
  standalone(events: string): void;
}

interface Asked {
  res: ServerResponse;
  holder: number;
  answer: RelayedAnswer;
  timer: NodeJS.Timeout;
  opened: boolean;
}

/** Find a session's stream held here, for a worker that asks: what `SessionTransport.resumeElsewhere` says. */
export type ResumeHere = (session: string, lastEventId: string, out: StreamOutput) => ResumedElsewhere;

/** The relay of one worker: asks for the streams other workers hold, and serves those it holds. */
export class StreamRelay {
  readonly #self: number;
  readonly #asked = new Map<string, Asked>();
  /** Streams held here that another worker's client reads: how to let go of each. */
  readonly #served = new Map<string, { worker: number; detach: () => void }>();
  readonly #resumeHere: ResumeHere;
  readonly #onMessage = (message: unknown): void => this.#receive(message);

  private constructor(self: number, resumeHere: ResumeHere) {
    this.#self = self;
    this.#resumeHere = resumeHere;
    process.on('message', this.#onMessage);
  }

  /** This worker's relay, when its primary relays streams; undefined anywhere else. */
  static start(resumeHere: ResumeHere): StreamRelay | undefined {
    const worker = cluster.worker;
    if (!cluster.isWorker || !worker || process.env[STREAM_RELAY_ENV] !== '1') return undefined;
    return new StreamRelay(worker.id, resumeHere);
  }

  /** What every event id stored here starts with. */
  get eventIdPrefix(): string {
    return `${this.#self}_`;
  }

  /** The worker that holds the event, when it is another one. */
  holderOf(eventId: string): number | undefined {
    const match = /^(\d+)_/.exec(eventId);
    const holder = match ? Number(match[1]) : undefined;
    return holder === this.#self ? undefined : holder;
  }

  /** Ask `holder` for the stream of `lastEventId`, and relay it to `res`, as `answer` says. */
  resume(holder: number, session: string, lastEventId: string, res: ServerResponse, answer: RelayedAnswer): void {
    const key = randomUUID();
    const timer = setTimeout(() => this.#giveUp(key), ANSWER_TIMEOUT_MS);
    this.#asked.set(key, { res, holder, answer, timer, opened: false });
    res.once('close', () => {
      if (!this.#asked.delete(key)) return;
      clearTimeout(timer);
      if (!res.writableFinished) this.#send({ type: MCP_STREAM, op: 'detach', to: holder, key });
    });
    this.#send({ type: MCP_STREAM, op: 'resume', to: holder, key, session, lastEventId });
  }

  close(): void {
    process.off('message', this.#onMessage);
    for (const key of [...this.#asked.keys()]) this.#giveUp(key);
    for (const served of this.#served.values()) served.detach();
    this.#served.clear();
  }

  #receive(message: unknown): void {
    if (!isStreamMessage(message)) return;
    switch (message.op) {
      case 'resume':
        return this.#serve(message.from!, message.key, message.session, message.lastEventId);
      case 'detach':
        this.#served.get(message.key)?.detach();
        this.#served.delete(message.key);
        return;
      case 'gone':
        for (const [key, served] of this.#served) if (served.worker === message.worker) this.#served.delete(key);
        for (const [key, asked] of this.#asked) if (asked.holder === message.worker) this.#giveUp(key);
        return;
      case 'opened':
        return this.#opened(message.key, message.outcome, message.events, message.ended);
      case 'data':
      case 'end': {
        const asked = this.#asked.get(message.key);
        if (!asked?.opened) return;
        if (message.op === 'data') return void asked.res.write(message.events);
        this.#forget(message.key);
        asked.res.end(message.events);
      }
    }
  }

  /** A worker asks for a stream held here: what the client missed goes in the first answer. */
  #serve(worker: number, key: string, session: string, lastEventId: string): void {
    let opened = false;
    let ended = false;
    let first = '';
    const send = (op: 'data' | 'end', events: string): void => {
      if (op === 'end') this.#served.delete(key);
      this.#send({ type: MCP_STREAM, op, to: worker, key, events });
    };
    const out: StreamOutput = {
      write: (events) => {
        if (!opened) first += events;
        else if (events !== '') send('data', events);
      },
      end: (events) => {
        if (opened) return send('end', events);
        first += events;
        ended = true;
      },
    };
    let resumed: ResumedElsewhere;
    try {
      resumed = this.#resumeHere(session, lastEventId, out);
    } catch {
      resumed = { outcome: 'unknown' };
    }
    if (resumed.outcome === 'attached' && !ended) this.#served.set(key, { worker, detach: resumed.detach });
    opened = true;
    this.#send({ type: MCP_STREAM, op: 'opened', to: worker, key, outcome: resumed.outcome, events: first, ended: ended || resumed.outcome !== 'attached' });
  }

  #opened(key: string, outcome: Outcome, events: string, ended: boolean): void {
    const asked = this.#asked.get(key);
    if (!asked || asked.opened) return;
    clearTimeout(asked.timer);
    if (outcome !== 'attached' && outcome !== 'replayed') {
      this.#forget(key);
      if (outcome === 'standalone') asked.answer.standalone(events);
      else if (outcome === 'conflict') asked.answer.conflict();
      else asked.answer.unknown();
      return;
    }
    asked.opened = true;
    asked.answer.open();
    if (!ended) return void (events !== '' && asked.res.write(events));
    this.#forget(key);
    asked.res.end(events);
  }

  /** The holder never answered, or is gone: a stream not yet open is answered as unknown; an open one ends, for its client to resume again. */
  #giveUp(key: string): void {
    const asked = this.#asked.get(key);
    if (!asked) return;
    this.#forget(key);
    if (asked.opened) asked.res.end();
    else asked.answer.unknown();
  }

  #forget(key: string): void {
    const asked = this.#asked.get(key);
    if (!asked) return;
    clearTimeout(asked.timer);
    this.#asked.delete(key);
  }

  #send(message: StreamMessage): void {
    if (!process.connected) return;
    try {
      process.send!(message);
    } catch {
      // The primary is gone: the group is stopping, and the stream with it.
    }
  }
}
