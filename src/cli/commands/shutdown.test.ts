import { describe, expect, it } from 'vitest';
import { ServerStatus, statusAtHost } from '../../index.ts';
import { EchoService } from '../../../examples/echo/echo.service.ts';
import { runCli } from '../../../test/helpers/cli.ts';
import { freePort } from '../../../test/helpers/free-port.ts';

async function running(options: { host?: string; adminToken?: string } = {}): Promise<EchoService> {
  const service = new EchoService({ host: '127.0.0.1', port: 0, logger: false, ...options });
  await service.start();
  return service;
}

describe('taskmesh shutdown', () => {
  it('stops the service and waits until it is down, with exit code 0', async () => {
    await using service = await running();
    const result = await runCli(['shutdown', service.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`EchoService at ${service.url} is down.\n`);
    // "down" as the command sees it: the URL refuses connections; the service itself gets there too.
    expect(await statusAtHost(service.url)).toBe(ServerStatus.Down);
    await service.whenDown();
  });

  it('returns at once with --no-wait, and prints JSON with --json', async () => {
    await using service = await running();
    const result = await runCli(['shutdown', service.url, '--no-wait', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ url: service.url, className: 'EchoService', status: 'Stopping' });
    await service.whenDown();
  });

  it('exits with code 5 without the admin token of a service that needs one, and stops it with --token', async () => {
    await using service = await running({ host: '0.0.0.0', adminToken: 'the-token' });
    const refused = await runCli(['shutdown', service.url], { env: { TASKMESH_ADMIN_TOKEN: '' } });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/^taskmesh shutdown: shutdown failed with 401: shutdown is an admin endpoint: send the service's admin token as 'Authorization: Bearer <token>'\. \(request id [\w-]+\)\n$/);
    expect(service.status).toBe(ServerStatus.Available);
    const viaEnv = await runCli(['shutdown', service.url], { env: { TASKMESH_ADMIN_TOKEN: 'the-token' } });
    expect(viaEnv.code).toBe(0);
    await service.whenDown();
  });

  it('takes the token from --token', async () => {
    await using service = await running({ host: '0.0.0.0', adminToken: 'the-token' });
    const result = await runCli(['shutdown', service.url, '--token', 'the-token'], { env: { TASKMESH_ADMIN_TOKEN: '' } });
    expect(result.code).toBe(0);
    await service.whenDown();
  });

  it('exits with code 3 when nothing answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['shutdown', url]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`taskmesh shutdown: Nothing answers at ${url} (ECONNREFUSED). Is the service running there? Start it, or check the URL and port.\n`);
  });

  it('exits with code 2 without a URL', async () => {
    const result = await runCli(['shutdown']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('shutdown takes one URL, got 0 arguments.');
  });
});
