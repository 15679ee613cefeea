import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { runCli } from '../../../test/helpers/cli.ts';
import { freePort } from '../../../test/helpers/free-port.ts';
import { inputSummary } from './endpoints.ts';

const service = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
beforeAll(() => service.start());
afterAll(() => service.stop());

describe('taskmesh endpoints', () => {
  it('lists the endpoints with their methods, input fields and description, and names the built-ins', async () => {
    const result = await runCli(['endpoints', service.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `EchoService at ${service.url}: 1 endpoint\n` +
        '  echo  POST  { message: string, delay?: number }  Echo a message back, after an optional delay in seconds.\n' +
        'built-in (--all shows them): endpoints, status, heartbeat, server_id, class_name, pid_file, detailed_endpoints, shutdown\n',
    );
  });

  it('includes the built-ins with --all, marking admin ones', async () => {
    const result = await runCli(['endpoints', service.url, '--all']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`EchoService at ${service.url}: 9 endpoints\n`);
    expect(result.stdout).toMatch(/\n {2}shutdown +POST +\(no input\) +\[admin\] Stop the service/);
  });

  it('prints the details with their JSON Schemas with --json', async () => {
    const result = await runCli(['endpoints', service.url, '--json']);
    expect(result.code).toBe(0);
    const details = JSON.parse(result.stdout);
    expect(Object.keys(details)).toEqual(['echo']);
    expect(details.echo).toMatchObject({ path: 'echo', methods: ['POST'], builtin: false, input_schema: { required: ['message'] } });
  });

  it('exits with code 3 when nothing answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['endpoints', url]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`taskmesh endpoints: Nothing answers at ${url} (ECONNREFUSED). Is the service running there? Start it, or check the URL and port.\n`);
  });
});

describe('inputSummary', () => {
  it('shows fields, optional ones, arrays, enums and unions', () => {
    expect(inputSummary(null)).toBe('(no input)');
    expect(
      inputSummary({
        type: 'object',
        properties: { tags: { type: 'array', items: { type: 'string' } }, mode: { enum: ['a', 'b'] }, id: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
        required: ['mode'],
      }),
    ).toBe('{ tags?: string[], mode: "a" | "b", id?: string | integer }');
    expect(inputSummary({ type: 'object', properties: {} })).toBe('{}');
  });
});
