/**
 * The shape of one `taskmesh` subcommand. Each lives in src/cli/commands/<name>.ts and is listed in
 * src/cli/main.ts, so a new command is one file and one line.
 */

/** Documented exit codes, shared by every command. */
export const ExitCode = {
  Ok: 0,
  /** A failure not covered below. */
  Failure: 1,
  /** Wrong arguments or options: the usage text says what is expected. */
  Usage: 2,
  /** Nothing answers at the URL. */
  Unreachable: 3,
  /** The service answered with an error (4xx/5xx), e.g. invalid input. */
  CallFailed: 4,
  /** The admin token is missing or wrong. */
  Unauthorized: 5,
  /** Something timed out. */
  Timeout: 6,
  /** A launch failed (module not found, constructor or onStartup threw, port in use). */
  LaunchFailed: 7,
  /** Stopped by Ctrl-C (or SIGTERM, SIGHUP) before it served: 128 + SIGINT, as shells report an interrupted command. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  name: string;
  /** One line for `taskmesh --help`. */
  summary: string;
  /** The full text for `taskmesh <name> --help`. */
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}
