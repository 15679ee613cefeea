import type { ServerResponse } from 'node:http';
import type { RequestContext } from './endpoint.ts';

/**
 * The context a handler gets. A class, not an object literal with a getter: V8 keeps what such a
 * literal's getter closes over alive through young-generation GCs, so every request and reply was
 * promoted to the old generation (about 2 KB a request, and GC pauses of 10-25 µs a request under
 * load, found by the benchmark; see bench/RESULTS.md). As a class: under 100 bytes a request.
 */
export class HttpRequestContext implements RequestContext {
  readonly requestId: string;
  readonly log: RequestContext['log'];
  readonly #raw: ServerResponse;
  #controller: AbortController | undefined;

  constructor(requestId: string, log: RequestContext['log'], raw: ServerResponse) {
    this.requestId = requestId;
    this.log = log;
    this.#raw = raw;
  }

  // Made on first use: most handlers never look at it, and an AbortController per request is not free.
  get signal(): AbortSignal {
    if (!this.#controller) {
      const made = new AbortController();
      this.#controller = made;
      const raw = this.#raw;
      // The response closes either after it is sent or when the caller hangs up first.
      raw.once('close', () => {
        if (!raw.writableFinished) made.abort(new Error('The caller went away before the reply.'));
      });
    }
    return this.#controller.signal;
  }
}
