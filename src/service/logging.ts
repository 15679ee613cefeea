/**
 * A service's logging: its root pino logger, the one line it logs per request, `request.log`, and
 * where lines go when the caller names no stream (standard output, the lines of one event-loop
 * turn written together).
 *
 * Why not pino's default destination: it hands every line to libuv's thread pool as its own write,
 * so each request paid a thread hand-off and a wake-up (bench/RESULTS.md, the HTTP row's note).
 * Batched per turn, a busy service makes one write for all the requests the turn answered, and a
 * quiet one still shows each line at once: nothing waits for a buffer to fill or a timer to fire.
 */
import { LogController, type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { ErrorCodes } from '../errors.ts';

/** pino logger: true (info, the default), false, or pino options such as `{ level: 'warn' }` (a `stream` or `transport` among them is used as given). */
export type LoggerOption = boolean | { level?: string; [key: string]: unknown };

type SonicBoom = ReturnType<typeof pino.destination>;

export class TurnBatchedDestination {
  readonly #out: SonicBoom;
  /**
   * What the turn wrote, in order: lines, and request lines still to be formatted, each as its
   * fields in a row (its time first, a number, where a line is a string; see `writeRequest`).
   * Formatting a turn's request lines together, when the turn ends, costs measurably less than
   * formatting each as its request ends (bench/RESULTS.md, the HTTP row).
   */
  #queue: (string | number)[] = [];
  #scheduled = false;

  constructor(fd: number) {
    // Synchronous, so that the batch is out when the turn ends and an exit loses nothing; sonic-boom
    // retries a full pipe (EAGAIN) rather than dropping the line.
    this.#out = pino.destination({ dest: fd, sync: true });
  }

  write(line: string): void {
    this.#queue.push(line);
    this.#schedule();
  }

  /** A request's line (see `requestLine`), timed now and formatted when the batch is written. */
  writeRequest(level: number, bindings: string, requestId: string, method: string, url: string, status: number, durationMs: number): void {
    this.#queue.push(Date.now(), level, bindings, requestId, method, url, status, durationMs);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Write what is pending now (also at exit: see stdoutDestination). */
  readonly flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    let batch = '';
    for (let i = 0; i < queue.length; ) {
      const entry = queue[i]!;
      if (typeof entry === 'string') {
        batch += entry;
        i += 1;
      } else {
        batch += requestLine(entry, ...(queue.slice(i + 1, i + 8) as RequestFields));
        i += 8;
      }
    }
    this.#out.write(batch);
  };
}

/** A request line's fields after its time, in `writeRequest`'s order. */
type RequestFields = [level: number, bindings: string, requestId: string, method: string, url: string, status: number, durationMs: number];

/**
 * The line pino writes for `child({ requestId }).info({ method, url, status, durationMs }, 'request')`
 * with its default format (a test holds the bytes equal). `requestId` and `method` need no JSON
 * escaping: ids are checked or made by the service, and methods are HTTP tokens; the caller checks `url`.
 */
function requestLine(time: number, ...[level, bindings, requestId, method, url, status, durationMs]: RequestFields): string {
  return (
    `{"level":${level},"time":${time}${bindings},"requestId":"${requestId}","method":"${method}",` +
    `"url":"${url}","status":${status},"durationMs":${durationMs},"msg":"request"}\n`
  );
}

let stdout: TurnBatchedDestination | undefined;

/** One per process: every service in it shares standard output, and one exit hook flushes it. */
export function stdoutDestination(): TurnBatchedDestination {
  if (!stdout) {
    const made = new TurnBatchedDestination(1);
    process.once('exit', made.flush);
    stdout = made;
  }
  return stdout;
}

/** The service's root logger, or undefined when logging is off. */
export function serviceLogger(option: LoggerOption): pino.Logger | undefined {
  if (option === false) return undefined;
  const { stream, ...options } = option === true ? {} : option;
  if (options.transport) return pino(options);
  return pino(options, stream ? forgiving(stream as pino.DestinationStream) : stdoutDestination());
}

/**
 * The stream given in the `logger` option, made so that a write that throws loses its line and not
 * the request or the process: the service writes lines as it starts, per request and for an error
 * reply, often after the reply is out, where a throw would end in a second reply or a crash. Said
 * once, as a process warning, since the log itself cannot say it. A Proxy, so that pino still sees
 * the stream's own properties (a multistream's metadata, `flushSync`).
 */
function forgiving(stream: pino.DestinationStream): pino.DestinationStream {
  let told = false;
  const write = (line: string): void => {
    try {
      stream.write(line);
    } catch (error) {
      if (told) return;
      told = true;
      const reason = error instanceof Error ? error.message : String(error);
      process.emitWarning(
        `The service's log stream threw (${reason}): its lines are being lost, while requests are answered as ever. ` +
          'Mend the stream given in the service\'s `logger` option; this warning is given once.',
        { code: ErrorCodes.LOG_STREAM_FAILED },
      );
    }
  };
  return new Proxy(stream, {
    get(target, key) {
      if (key === 'write') return write;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

type LogArguments = Parameters<pino.LogFn>;

/**
 * Writes the one line a service logs per request, when its reply is sent.
 *
 * With pino's default line format (the service's logger given at most a level and a stream), the
 * line is built here and written to the logger's stream directly: the same bytes pino would write
 * (a test holds them equal), at a fraction of pino's generic cost per line. Any other pino option
 * (formatters, mixins, redaction, a transport) can change the line, so the line then goes through
 * pino.
 */
export class RequestLines {
  readonly root: pino.Logger;
  readonly #direct: { stream: pino.DestinationStream; bindings: string; level: number } | undefined;

  constructor(root: pino.Logger, option: LoggerOption) {
    this.root = root;
    const plain = option === true || (typeof option === 'object' && Object.keys(option).every((key) => key === 'level' || key === 'stream'));
    if (plain) {
      const internals = root as unknown as Record<symbol, unknown>;
      this.#direct = { stream: internals[pino.symbols.streamSym] as pino.DestinationStream, bindings: internals[pino.symbols.chindingsSym] as string, level: root.levels.values.info! };
    }
  }

  write(requestId: string, method: string, url: string, status: number, durationMs: number): void {
    const direct = this.#direct;
    // A URL that needs escaping (rare: Node hands over the request target as sent) goes through
    // pino, whose escaping is its own.
    if (!direct || NEEDS_ESCAPING.test(url)) return void this.root.info({ requestId, method, url, status, durationMs }, 'request');
    if (!this.root.isLevelEnabled('info')) return;
    const { stream, level, bindings } = direct;
    if (stream instanceof TurnBatchedDestination) stream.writeRequest(level, bindings, requestId, method, url, status, durationMs);
    else stream.write(requestLine(Date.now(), level, bindings, requestId, method, url, status, durationMs));
  }
}

// What a JSON string cannot hold as it is (and lone surrogates, which encoders rewrite).
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `request.log` in a service: a logger whose lines carry the request id, and the request's own
 * line when its reply goes out. The pino child behind it is made when something first logs
 * through it: most requests never do beyond their one line, and a child per request was a
 * measurable share of a request's cost.
 */
export class RequestLogger implements FastifyBaseLogger {
  readonly #lines: RequestLines;
  readonly #requestId: string;
  readonly #startedAt = performance.now();
  #child: FastifyBaseLogger | undefined;
  #done = false;

  constructor(lines: RequestLines, requestId: string) {
    this.#lines = lines;
    this.#requestId = requestId;
  }

  /** Log the request's line (once), with the time since it arrived. */
  completed(method: string, url: string, status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#lines.write(this.#requestId, method, url, status, Math.round((performance.now() - this.#startedAt) * 100) / 100);
  }

  get #logger(): FastifyBaseLogger {
    return (this.#child ??= this.#lines.root.child({ requestId: this.#requestId }));
  }

  get level(): pino.LevelWithSilentOrString {
    return (this.#child ?? this.#lines.root).level;
  }

  set level(level: pino.LevelWithSilentOrString) {
    this.#logger.level = level;
  }

  fatal(...args: LogArguments): void {
    this.#logger.fatal(...args);
  }

  error(...args: LogArguments): void {
    this.#logger.error(...args);
  }

  warn(...args: LogArguments): void {
    this.#logger.warn(...args);
  }

  info(...args: LogArguments): void {
    this.#logger.info(...args);
  }

  debug(...args: LogArguments): void {
    this.#logger.debug(...args);
  }

  trace(...args: LogArguments): void {
    this.#logger.trace(...args);
  }

  silent(...args: LogArguments): void {
    this.#logger.silent(...args);
  }

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger.child(bindings, options);
  }
}

/**
 * Fastify's lifecycle lines, through the request's logger: not its "incoming request" line (the
 * service logs one line per request, when it answers), but its lines on stream and serializer
 * errors.
 */
export class ServiceLogController extends LogController {
  override incomingRequest(): void {}
}
