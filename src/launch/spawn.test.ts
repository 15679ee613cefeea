import { describe, expect, it } from 'vitest';
import { childExecArgv } from './spawn.ts';

const moduleUrl = 'file:///app/echo.service.js';

describe('the flags a launched process inherits from its launcher', () => {
  it('keep how code is run: loaders, conditions, memory limits', () => {
    const flags = ['--import', './register.js', '--conditions=development', '--max-old-space-size=4096', '--enable-source-maps'];
    expect(childExecArgv(moduleUrl, flags)).toEqual(flags);
  });

  it('drop what is about the launcher\'s own run: code to evaluate, whose child would launch again', () => {
    expect(childExecArgv(moduleUrl, ['--input-type=module', '-e', 'await launch()', '--no-warnings'])).toEqual(['--no-warnings']);
    expect(childExecArgv(moduleUrl, ['--eval', 'launch()'])).toEqual([]);
    expect(childExecArgv(moduleUrl, ['--eval=launch()', '--trace-warnings'])).toEqual(['--trace-warnings']);
    expect(childExecArgv(moduleUrl, ['-p', 'launch()', '--input-type', 'module'])).toEqual([]);
  });

  it('drop a test runner, a watcher, a REPL, a syntax check and a debugger port', () => {
    expect(
      childExecArgv(moduleUrl, ['--test', '--test-name-pattern', 'x', '--test-reporter=spec', '--watch', '--watch-path', 'src', '-i', '--check', '--inspect=9229', '--inspect-brk', '--import', 'tsx']),
    ).toEqual(['--import', 'tsx']);
  });
});
