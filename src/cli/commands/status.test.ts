import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { runCli } from '../../../test/helpers/cli.ts';
import { freePort } from '../../../test/helpers/free-port.ts';
import { plainServer } from '../../../test/helpers/http-servers.ts';

const service = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
beforeAll(() => service.start());
afterAll(() => service.stop());

describe('taskmesh status', () => {
  it('shows the status, class, server id and message of the service, with exit code 0', async () => {
    const result = await runCli(['status', service.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Available  EchoService at ${service.url}\n  server id  ${service.serverId}\n  message    EchoService is available.\n`);
  });

  it('prints the same as JSON with --json, and takes host:port as the URL', async () => {
    const result = await runCli(['status', service.url.replace('http://', ''), '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ url: service.url, status: 'Available', className: 'EchoService', serverId: service.serverId, message: 'EchoService is available.', details: null });
  });

  it('says Down with exit code 3 when nothing answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['status', url]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe(`Down  nothing answers at ${url}\n`);
    const json = await runCli(['status', url, '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ url, status: 'Down' });
  });

  it('exits with code 4 when what answers is not a taskmesh service', async () => {
    await using other = await plainServer(true);
    const result = await runCli(['status', other.url]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^taskmesh status: (heartbeat|class_name) failed with 404: not a taskmesh service/);
  });

  it('exits with code 6 when the service does not answer within --timeout', async () => {
    await using silent = await plainServer(false);
    const result = await runCli(['status', silent.url, '--timeout', '300']);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/did not answer within 300 ms/);
  });

  it('exits with code 2 for a URL that is not one, or a missing URL', async () => {
    const bad = await runCli(['status', 'http://exa mple:80']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"http://exa mple:80" is not a URL: write it like http://localhost:8080');
    const missing = await runCli(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('status takes one URL, got 0 arguments.');
  });
});
