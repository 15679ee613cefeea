/**
 * `taskmesh <command>`: dispatch to the commands listed below. A new command is one file in
 * commands/ and one entry in this list.
 */
import { readFileSync } from 'node:fs';
import { ExitCode, type CliCommand, type CliIo } from './command.ts';
import { callCommand } from './commands/call.ts';
import { endpointsCommand } from './commands/endpoints.ts';
import { gatewayCommand } from './commands/gateway.ts';
import { launchCommand } from './commands/launch.ts';
import { mcpCommand } from './commands/mcp.ts';
import { registerCommand } from './commands/register.ts';
import { shutdownCommand } from './commands/shutdown.ts';
import { statusCommand } from './commands/status.ts';
import { wantsHelp } from './support.ts';

export const commands: readonly CliCommand[] = [
  launchCommand,
  statusCommand,
  endpointsCommand,
  callCommand,
  shutdownCommand,
  gatewayCommand,
  registerCommand,
  mcpCommand,
];

const exitCodes = `Exit codes (every command):
  0  ok
  1  a failure not listed below (e.g. a launched service stopped unexpectedly)
  2  wrong arguments or options (the usage text says what is expected)
  3  nothing answers at the URL
  4  the service answered with an error (invalid input, unknown endpoint, handler error)
  5  the admin token is missing or wrong
  6  something timed out
  7  a launch failed (module or export not found, constructor or onStartup threw, port in use)`;

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: taskmesh <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

\`taskmesh <command> --help\` shows a command's options. Most take --json, for scripts.

${exitCodes}
`;
}

function version(): string {
  // From the sources and from dist alike, the package root is two folders up.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const command = commands.find((c) => c.name === args[0]);
    (name === undefined ? io.stderr : io.stdout).write(command ? `${command.usage}\n` : overview());
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return ExitCode.Ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`taskmesh: unknown command "${name}". The commands are: ${commands.map((c) => c.name).join(', ')}.\n`);
    return ExitCode.Usage;
  }
  if (wantsHelp(args)) {
    io.stdout.write(`${command.usage}\n`);
    return ExitCode.Ok;
  }
  return command.run(args, io);
}
