import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { ProbeService } from '../../../test/fixtures/launch/probe.service.ts';
import { runCli } from '../../../test/helpers/cli.ts';
import { freePort } from '../../../test/helpers/free-port.ts';
import { fieldsInput } from './call.ts';

const echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
// Bound to every address: admin endpoints need the token even from this machine.
const probe = new ProbeService({ host: '0.0.0.0', port: 0, logger: false, adminToken: 'the-token', greeting: 'hello' });
beforeAll(() => Promise.all([echo.start(), probe.start()]));
afterAll(() => Promise.all([echo.stop(), probe.stop()]));

describe('taskmesh call', () => {
  it('sends key=value fields and prints the JSON reply', async () => {
    const result = await runCli(['call', echo.url, 'echo', 'message=hello there', 'delay=0']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ echoed: 'hello there' });
  });

  it('keeps a value a string where the schema wants one, even when it looks like JSON', async () => {
    const result = await runCli(['call', echo.url, 'echo', 'message=007']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ echoed: '007' });
  });

  it('sends --json input, and reads it from stdin with --json -', async () => {
    const inline = await runCli(['call', echo.url, 'echo', '--json', '{"message":"inline"}']);
    expect(inline.code).toBe(0);
    expect(JSON.parse(inline.stdout)).toEqual({ echoed: 'inline' });
    const piped = await runCli(['call', echo.url, 'echo', '--json', '-'], { input: '{"message":"piped"}' });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toEqual({ echoed: 'piped' });
  });

  it('calls endpoints without input', async () => {
    const result = await runCli(['call', probe.url, 'whoami']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ pid: process.pid, serverId: probe.serverId, init: { greeting: 'hello' } });
  });

  it('exits with code 4 for input that breaks the schema, listing the problems, without sending it', async () => {
    const result = await runCli(['call', echo.url, 'echo', '--json', '{"message":5}']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('taskmesh call: Input for echo does not match its schema; nothing was sent.\n  message: Invalid input: expected string, received number\n');
  });

  it('exits with code 4 for an endpoint the service does not have, naming the ones it has', async () => {
    const result = await runCli(['call', echo.url, 'ehco', 'message=x']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(`taskmesh call: ${echo.url} has no endpoint "ehco"; its endpoints: echo (\`taskmesh endpoints ${echo.url}\` lists them).\n`);
  });

  it('exits with code 4 when the handler fails', async () => {
    const result = await runCli(['call', probe.url, 'fail', 'why=disk full']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^taskmesh call: fail failed with 500: disk full \(request id [\w-]+\)\n$/);
  });

  it('exits with code 5 for an admin endpoint without the right token', async () => {
    const refused = await runCli(['call', probe.url, 'shutdown'], { env: { TASKMESH_ADMIN_TOKEN: '' } });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("shutdown is an admin endpoint: send the service's admin token as 'Authorization: Bearer <token>'.");
    const wrong = await runCli(['call', probe.url, 'shutdown', '--token', 'not-it']);
    expect(wrong.code).toBe(5);
    expect(probe.status).toBe('Available');
  });

  it('exits with code 3 when nothing answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['call', url, 'echo', 'message=x']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`Nothing answers at ${url}`);
  });

  it.each([
    [['call', 'http://127.0.0.1:1'], 'call takes a URL and an endpoint name.'],
    [['call', 'http://127.0.0.1:1', 'echo', '--json', '{"message":"x"}', 'delay=1'], 'Give the input as --json or as key=value fields, not both.'],
    [['call', 'ECHO_URL', 'echo', '--json', '{nope'], 'The --json input is not valid JSON'],
    [['call', 'ECHO_URL', 'echo', 'message'], '"message" is not an input field: write key=value or key:=json.'],
  ])('exits with code 2 for wrong arguments: %j', async (args, message) => {
    const result = await runCli(args.map((a) => (a === 'ECHO_URL' ? echo.url : a)));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: taskmesh call');
  });
});

describe('fieldsInput', () => {
  const schema = { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' }, opts: { type: 'object', properties: { label: { type: 'string' } } } } };

  it('parses JSON values except for string fields, sets nested fields, and takes := as JSON', () => {
    expect(fieldsInput(['name=42', 'count=3', 'flag=true', 'note=plain text', 'opts.label=null', 'opts.depth=2', 'tags:=["a","b"]', 'name2:="x"'], schema)).toEqual({
      name: '42',
      count: 3,
      flag: true,
      note: 'plain text',
      opts: { label: 'null', depth: 2 },
      tags: ['a', 'b'],
      name2: 'x',
    });
  });

  it('refuses := with a value that is not JSON', () => {
    expect(() => fieldsInput(['tags:=[a'], schema)).toThrow(/The value of tags is not valid JSON/);
  });
});
