/**
 * The spinner on stderr while a launch waits. Only on a terminal: in a pipe, a log or CI it would
 * be noise, so it is off there (and with `progress: false`).
 */

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  /** Redraw with the time waited so far. */
  tick(): void;
  /** Clear the line. */
  done(): void;
}

const silent: Progress = { tick() {}, done() {} };

/** `tick()` may come every few ms; the line is redrawn at most every `redrawMs`. */
export function progressLine(label: string, enabled: boolean, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, redrawMs = 80): Progress {
  if (!enabled || !stream.isTTY) return silent;
  const started = Date.now();
  let frame = 0;
  let drawn = false;
  let lastDraw = 0;
  return {
    tick() {
      if (drawn && Date.now() - lastDraw < redrawMs) return;
      lastDraw = Date.now();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${label} ${seconds}s`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
