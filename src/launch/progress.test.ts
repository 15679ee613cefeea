import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine } from './progress.ts';

function stream(isTTY: boolean): Writable & { isTTY: boolean; text: string } {
  const out = new Writable({
    write(chunk, _encoding, done) {
      out.text += String(chunk);
      done();
    },
  }) as Writable & { isTTY: boolean; text: string };
  out.isTTY = isTTY;
  out.text = '';
  return out;
}

describe('progressLine', () => {
  it('draws a spinner with the label and the time waited on a terminal, and clears it when done', () => {
    const tty = stream(true);
    const progress = progressLine('Launching EchoService at http://127.0.0.1:0', true, tty, 0);
    progress.tick();
    progress.tick();
    const clear = '\r\u001b[2K';
    expect(tty.text.startsWith(`${clear}⠋ Launching EchoService at http://127.0.0.1:0 `)).toBe(true);
    expect(tty.text.split(clear).slice(1).map((frame) => frame.replace(/\d+\.\ds$/, 'Ns'))).toEqual([
      '⠋ Launching EchoService at http://127.0.0.1:0 Ns',
      '⠙ Launching EchoService at http://127.0.0.1:0 Ns',
    ]);
    progress.done();
    expect(tty.text.endsWith(clear)).toBe(true);
  });

  it('redraws at most once per interval, however often it ticks', () => {
    const tty = stream(true);
    const progress = progressLine('Launching', true, tty, 60_000);
    for (let i = 0; i < 5; i++) progress.tick();
    expect(tty.text.split('\r\u001b[2K').filter(Boolean)).toHaveLength(1);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const pipe = stream(false);
    const progress = progressLine('Launching', true, pipe);
    progress.tick();
    progress.done();
    expect(pipe.text).toBe('');
  });

  it('writes nothing with progress: false, even on a terminal', () => {
    const tty = stream(true);
    const progress = progressLine('Launching', false, tty);
    progress.tick();
    progress.done();
    expect(tty.text).toBe('');
  });
});
