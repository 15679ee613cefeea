/** `taskmesh mcp stdio <module>#<Export>`: a service's MCP tools, resources and prompts over stdio. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveServiceClass, StageError } from '../../launch/resolve.ts';
import type { LaunchSpec } from '../../launch/messages.ts';
import type { StdioStreams } from '../../mcp/stdio.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, UsageError, wantsHelp } from '../support.ts';

const usage = `Usage: taskmesh mcp stdio <module>[#Export] [--log-level LEVEL]

Serve the MCP tools, resources and prompts of the Service class exported as <Export> from
<module> (a .ts or .js file, relative to the working directory) over stdin and stdout, for
desktop clients that start their MCP servers as subprocesses. Without #Export, the module's only
Service export. Only MCP messages go to stdout; log lines go to stderr. The service runs its
onStartup first, serves both protocol eras, and runs onShutdown when the client closes stdin.

  --log-level LEVEL   level of the log lines on stderr: trace, debug, info (default), warn,
                      error, or silent for none

Exit codes: 0 the client closed the connection, 2 wrong arguments, 7 the module, the export, the
constructor or onStartup failed.`;

interface StdioService {
  serveStdio(streams?: StdioStreams): Promise<void>;
  stop(): Promise<void>;
}

function targetSpec(target: string): LaunchSpec {
  const hash = target.lastIndexOf('#');
  const modulePart = hash === -1 ? target : target.slice(0, hash);
  const exportName = hash === -1 ? undefined : target.slice(hash + 1) || undefined;
  if (!modulePart) throw new UsageError('The module is missing: write it like ./src/echo.service.ts#EchoService.');
  const moduleUrl = /^[a-z][a-z\d+.-]+:/i.test(modulePart) ? modulePart : pathToFileURL(isAbsolute(modulePart) ? modulePart : resolve(modulePart)).href;
  // Only the module and export are read when the class is resolved in this process.
  return { moduleUrl, exportName, url: '', numWorkers: 1, init: {}, pidFile: '', detached: false };
}

/** Anything the service's code prints with console.log would corrupt the protocol on stdout. */
function consoleToStderr(): void {
  for (const method of ['log', 'info', 'debug'] as const) console[method] = (...args: unknown[]) => console.error(...args);
}

export const mcpCommand: CliCommand = {
  name: 'mcp',
  summary: 'Serve a service over MCP stdio, for desktop clients',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    if (wantsHelp(args)) {
      io.stdout.write(`${usage}\n`);
      return ExitCode.Ok;
    }
    let spec: LaunchSpec;
    let logLevel: string;
    try {
      const { values, positionals } = parseCommandArgs(args, { 'log-level': { type: 'string', default: 'info' } });
      if (positionals[0] !== 'stdio') throw new UsageError(`Unknown mcp subcommand ${positionals[0] ? `"${positionals[0]}"` : '(none)'}: the only one is "stdio".`);
      if (positionals.length !== 2) throw new UsageError(`mcp stdio takes one module (module.ts#Export), got ${positionals.length - 1}.`);
      spec = targetSpec(positionals[1]!);
      logLevel = values['log-level'];
    } catch (error) {
      return fail(io, mcpCommand, error);
    }
    consoleToStderr();
    let service: StdioService;
    try {
      const Cls = await resolveServiceClass(spec);
      try {
        service = new Cls({ logger: { level: logLevel } }) as unknown as StdioService;
      } catch (error) {
        throw new StageError('construct', `the constructor of ${Cls.name} threw: ${(error as Error)?.message ?? String(error)}`, error);
      }
    } catch (error) {
      return fail(io, mcpCommand, error, ExitCode.LaunchFailed);
    }
    const stop = (): void => void service.stop();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      await service.serveStdio({ stdin: process.stdin, stdout: io.stdout as NodeJS.WritableStream & StdioStreams['stdout'] });
      return ExitCode.Ok;
    } catch (error) {
      return fail(io, mcpCommand, new Error(`onStartup failed: ${(error as Error)?.message ?? String(error)}`), ExitCode.LaunchFailed);
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  },
};
