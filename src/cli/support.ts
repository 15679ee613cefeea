/**
 * What every `taskmesh` command shares: argument parsing that fails with the usage text, the map
 * from errors to the documented exit codes, and URL arguments.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildUrl } from '../config.ts';
import { ErrorCodes, TaskmeshError } from '../errors.ts';
import { ADMIN_TOKEN_ENV } from '../protocol.ts';
import { ExitCode, type CliIo } from './command.ts';

/** Wrong arguments: exit code 2, and the command's usage text. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, strict, with every parse problem turned into a UsageError. */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `http://host:port`, `host:port` or a bare port (on localhost), as a URL. */
export function urlArgument(value: string | undefined, what = 'URL'): string {
  if (!value) throw new UsageError(`The ${what} is missing.`);
  const withScheme = /^\d+$/.test(value) ? `http://localhost:${value}` : /^[a-z][a-z\d+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    return buildUrl({ url: withScheme });
  } catch {
    throw new UsageError(`"${value}" is not a URL: write it like http://localhost:8080 (or localhost:8080, or 8080).`);
  }
}

/** A whole number option, such as --port or --timeout. */
export function wholeNumber(value: string | undefined, option: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`${option} takes a whole number of at least ${min}, got "${value}".`);
  return parsed;
}

/** The documented exit code of an error; `fallback` for anything the table does not name. */
export function exitCodeFor(error: unknown, fallback: ExitCode = ExitCode.Failure): ExitCode {
  if (error instanceof UsageError) return ExitCode.Usage;
  if (!(error instanceof TaskmeshError)) return fallback;
  switch (error.code) {
    case ErrorCodes.UNREACHABLE:
      return ExitCode.Unreachable;
    case ErrorCodes.UNAUTHORIZED:
      return ExitCode.Unauthorized;
    case ErrorCodes.TIMEOUT:
      return ExitCode.Timeout;
    case ErrorCodes.LAUNCH_FAILED:
    case ErrorCodes.PORT_IN_USE:
      return ExitCode.LaunchFailed;
    case ErrorCodes.CONFIG:
      return ExitCode.Usage;
    case ErrorCodes.INVALID_INPUT:
    case ErrorCodes.INVALID_OUTPUT:
    case ErrorCodes.CALL_FAILED:
    case ErrorCodes.NOT_FOUND:
    case ErrorCodes.HANDLER_FAILED:
    case ErrorCodes.STOPPING:
    case ErrorCodes.APP_NOT_REGISTERED:
    case ErrorCodes.UPSTREAM_UNREACHABLE:
    case ErrorCodes.UPSTREAM_TIMEOUT:
      return ExitCode.CallFailed;
    default:
      return fallback;
  }
}

/** Report an error on stderr (with the usage text for wrong arguments) and return its exit code. */
export function fail(io: CliIo, command: { name: string; usage: string }, error: unknown, fallback: ExitCode = ExitCode.Failure): number {
  let message = error instanceof Error ? error.message : String(error);
  const issues = error instanceof TaskmeshError ? error.issues : undefined;
  if (issues?.length && !message.includes(issues[0]!.message)) {
    message += issues.map((issue) => `\n  ${issue.path.length ? issue.path.join('.') : '(input)'}: ${issue.message}`).join('');
  }
  if (error instanceof UsageError) io.stderr.write(`taskmesh ${command.name}: ${message}\n\n${command.usage}\n`);
  else io.stderr.write(`taskmesh ${command.name}: ${message}\n`);
  return exitCodeFor(error, fallback);
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The admin token: --token, else TASKMESH_ADMIN_TOKEN from the command's environment. */
export function tokenFrom(value: string | undefined, io: CliIo): string | undefined {
  return value ?? (io.env[ADMIN_TOKEN_ENV] || undefined);
}

/** Every command's own --help: print the usage, exit 0. */
export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}
