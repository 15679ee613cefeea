import { readFile } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { atTurnEnd } from './turn-end.ts';

/** Run `body` inside an I/O callback, where the poll phase is under way, as the gateway's requests are. */
function inIoCallback(body: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => readFile(import.meta.filename, (error) => (error ? reject(error) : body(resolve))));
}

describe('atTurnEnd', () => {
  it('runs the jobs of one turn together, in order, after the turn\'s callbacks and before its timers', async () => {
    const ran: string[] = [];
    await inIoCallback((done) => {
      setTimeout(() => {
        ran.push('timer');
        done();
      }, 0);
      atTurnEnd(() => ran.push('first'));
      void Promise.resolve().then(() => ran.push('microtask'));
      atTurnEnd(() => ran.push('second'));
      ran.push('callback');
    });
    expect(ran).toEqual(['callback', 'microtask', 'first', 'second', 'timer']);
  });

  it('sends a job queued by a job with the next turn, after work the first batch let in', async () => {
    const ran: string[] = [];
    await inIoCallback((done) => {
      atTurnEnd(() => {
        ran.push('first');
        atTurnEnd(() => {
          ran.push('queued by first');
          done();
        });
      });
      setImmediate(() => ran.push('immediate after the batch'));
    });
    expect(ran).toEqual(['first', 'immediate after the batch', 'queued by first']);
  });
});
