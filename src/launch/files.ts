/**
 * The files of a launched service: one log file and one pid file per launch, named after the class
 * and the launch time so that `ls` lists them in order, and the tail of a log for error messages.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, fstatSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { settings } from '../config.ts';

export interface LaunchFiles {
  logFile: string;
  pidFile: string;
}

/** `EchoService-20260121-193055-3fa2`: sortable, and unique per launch. */
function launchId(className: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${className.replace(/[^\w.-]/g, '_')}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export function launchFiles(className: string, options: { logDir?: string | undefined; logFile?: string | undefined; pidFile?: string | undefined }): LaunchFiles {
  const id = launchId(className);
  const s = settings();
  const files = {
    logFile: options.logFile ?? join(options.logDir ?? s.logDir, `${id}.log`),
    pidFile: options.pidFile ?? join(s.pidDir, `${id}.pid`),
  };
  mkdirSync(dirname(files.logFile), { recursive: true });
  mkdirSync(dirname(files.pidFile), { recursive: true });
  return files;
}

/** The last `maxLines` lines of a file (at most its last 16 KiB), or '' when it cannot be read. */
export function tailOf(file: string, maxLines = 20): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // the first line is cut
    while (lines.length && lines.at(-1)!.trim() === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Remove a pid file left by a process that was killed, if it still names that process. */
export function removeStalePidFile(pidFile: string, pids: readonly number[]): void {
  try {
    const written = Number(readFileSync(pidFile, 'utf8').trim());
    if (pids.includes(written)) rmSync(pidFile, { force: true });
  } catch {
    // no pid file: nothing to clean
  }
}
