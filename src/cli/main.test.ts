import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExitCode, type CliIo } from './command.ts';
import { commands, main } from './main.ts';
import { runCli } from '../../test/helpers/cli.ts';

function io(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  return { stdout: sink((t) => (out += t)), stderr: sink((t) => (err += t)), env: {}, out: () => out, err: () => err };
}

describe('taskmesh (dispatch)', () => {
  it('lists every command and the exit codes with --help', async () => {
    const cli = io();
    expect(await main(['--help'], cli)).toBe(ExitCode.Ok);
    for (const command of commands) expect(cli.out()).toContain(`  ${command.name}`);
    expect(cli.out()).toContain('7  a launch failed');
  });

  it('shows the overview on stderr with exit code 2 when no command is given', async () => {
    const cli = io();
    expect(await main([], cli)).toBe(ExitCode.Usage);
    expect(cli.err()).toContain('Usage: taskmesh <command> [options]');
  });

  it.each(commands.map((c) => c.name))('`%s --help` and `help <command>` print the usage of the command', async (name) => {
    const command = commands.find((c) => c.name === name)!;
    const viaFlag = io();
    expect(await main([name, '--help'], viaFlag)).toBe(ExitCode.Ok);
    expect(viaFlag.out()).toBe(`${command.usage}\n`);
    expect(command.usage).toMatch(/^Usage: taskmesh /);
    const viaHelp = io();
    expect(await main(['help', name], viaHelp)).toBe(ExitCode.Ok);
    expect(viaHelp.out()).toBe(`${command.usage}\n`);
  });

  it.each(['launch', 'status', 'endpoints', 'call', 'shutdown'])('`%s --help` documents its exit codes', (name) => {
    expect(commands.find((c) => c.name === name)!.usage).toMatch(/\nExit codes: 0 [^\n]+/);
  });

  it('refuses an unknown command with exit code 2, naming the commands', async () => {
    const cli = io();
    expect(await main(['lunch'], cli)).toBe(ExitCode.Usage);
    expect(cli.err()).toBe(`taskmesh: unknown command "lunch". The commands are: ${commands.map((c) => c.name).join(', ')}.\n`);
  });

  it('prints the package version', async () => {
    const cli = io();
    expect(await main(['--version'], cli)).toBe(ExitCode.Ok);
    expect(cli.out()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('runs as the `taskmesh` bin', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: taskmesh <command> [options]');
  });
});
