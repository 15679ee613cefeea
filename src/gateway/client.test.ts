import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../client/connect.ts';
import { AppNotRegisteredError, ErrorCodes, InvalidInputError, ServiceCallError } from '../errors.ts';
import { EchoContract } from '../../examples/echo/echo.contract.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { Gateway } from './gateway.ts';
import { GatewayClient } from './client.ts';
import { ProxyConnectionManager } from './proxy-connection-manager.ts';
import { startGateway } from './test-support.ts';

let echo: EchoService;
let gateway: Gateway;
/** The URL of every request the gateway served, from its one log line per request. */
let served: string[] = [];
const clients: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'request' && entry.url) served.push(entry.url);
      }
      done();
    },
  });
  gateway = await startGateway({ logger: { level: 'info', stream } });
});

beforeEach(() => {
  served = [];
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const name of gateway.registry.names()) await gateway.registry.remove(name);
});

afterAll(async () => {
  await gateway?.stop();
  await echo?.stop();
});

async function gatewayClient(): Promise<GatewayClient> {
  const gw = await Gateway.connect(gateway.url);
  clients.push(gw);
  return gw;
}

describe('gateway client', () => {
  it('Gateway.connect gives a GatewayClient that registers apps and lists them', async () => {
    const gw = await gatewayClient();
    expect(gw).toBeInstanceOf(GatewayClient);
    expect(gw.serverId).toBe(gateway.serverId);
    const echoer = await gw.registerApp({ name: 'echoer', url: echo.url, contract: EchoContract });
    expect(await echoer.echo({ message: 'typed' })).toEqual({ echoed: 'typed' });
    const apps = await gw.listApps();
    expect(apps.echoer).toMatchObject({ url: echo.url, health: { status: 'Available' } });
    await gw.unregisterApp('echoer');
    expect(await gw.listApps()).toEqual({});
  });

  it('reaches apps as gw.<app>.<endpoint>, through the gateway', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    expect(await gw.echoer.echo({ message: 'dynamic' })).toEqual({ echoed: 'dynamic' });
    expect(await gw.echoer.status()).toBe('Available');
    expect(served).toContain('/echoer/echo');
    expect(gw.echoer.url).toBe(`${gateway.url}/echoer`);
  });

  it('a client made before the registration finds the app, reading the registry once', async () => {
    const early = await gatewayClient();
    const other = await gatewayClient();
    await other.registerApp({ name: 'echoer', url: echo.url });
    served = [];
    expect(await early.echoer.echo({ message: 'first' })).toEqual({ echoed: 'first' });
    expect(await early.echoer.echo({ message: 'second' })).toEqual({ echoed: 'second' });
    expect(served.filter((u) => u === '/list_apps')).toHaveLength(1);
  });

  it('checks input against the app schema from the registry before sending', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    await gw.listApps();
    served = [];
    await expect(gw.echoer.echo({ message: 42 })).rejects.toBeInstanceOf(InvalidInputError);
    expect(served).toEqual([]);
  });

  it('says which apps exist when asked for an unknown one', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    const error = await gw.nobody.echo({ message: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppNotRegisteredError);
    expect(error).toMatchObject({ code: ErrorCodes.APP_NOT_REGISTERED, message: expect.stringContaining('registered: echoer') });
  });

  it('says which endpoints an app has when asked for an unknown one', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    await expect(gw.echoer.shout({ message: 'x' })).rejects.toMatchObject({
      code: ErrorCodes.NOT_FOUND,
      message: expect.stringContaining('its endpoints: echo'),
    });
  });

  it('a client that still believes in an unregistered app gets the gateway 404', async () => {
    const gw = await gatewayClient();
    const other = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    await other.echoer.echo({ message: 'known' });
    expect(Object.keys(await gw.listApps())).toEqual(['echoer']);
    await gw.unregisterApp('echoer');
    expect(await gw.listApps()).toEqual({});
    const error = await other.echoer.echo({ message: 'stale' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceCallError);
    expect(error).toMatchObject({ status: 404, serverCode: ErrorCodes.APP_NOT_REGISTERED });
    // Unregistering it again: the same 404, from the endpoint.
    await expect(gw.unregisterApp('echoer')).rejects.toMatchObject({ status: 404, serverCode: ErrorCodes.APP_NOT_REGISTERED });
  });

  it('never makes a request for inspection, then, symbols or JSON', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    served = [];
    inspect(gw, { depth: 3 });
    inspect(gw.echoer, { depth: 3 });
    JSON.stringify(gw);
    JSON.stringify({ app: gw.echoer });
    String(gw);
    expect(await Promise.resolve(gw)).toBe(gw);
    expect(await Promise.resolve(gw.echoer)).toBe(gw.echoer);
    expect((gw as unknown as Record<string, unknown>).then).toBeUndefined();
    expect((gw.echoer as unknown as Record<string, unknown>).then).toBeUndefined();
    expect((gw as unknown as Record<symbol, unknown>)[Symbol.iterator]).toBeUndefined();
    expect((gw as unknown as Record<string, unknown>).$$typeof).toBeUndefined();
    expect((gw as unknown as Record<string, unknown>)._private).toBeUndefined();
    expect(Object.keys(gw)).not.toContain('echoer');
    expect(served).toEqual([]);
  });

  it('works with await using, which closes it at the end of the scope', async () => {
    let outside: GatewayClient;
    {
      await using gw = await Gateway.connect(gateway.url);
      outside = gw;
      expect(await gw.status()).toBe('Available');
    }
    await expect(outside.status()).rejects.toThrow(/closed/);
  });

  it('keeps its own members ahead of app names', async () => {
    const gw = await gatewayClient();
    expect(typeof gw.status).toBe('function');
    expect(await gw.status()).toBe('Available');
    expect(gw.url).toBe(gateway.url);
    // An app whose name is a member is reached with app(name).
    await gw.registerApp({ name: 'close', url: echo.url });
    expect(await gw.app('close', EchoContract).echo({ message: 'by name' })).toEqual({ echoed: 'by name' });
  });

  it('gives typed clients of apps with app(name, contract), without a request', async () => {
    const gw = await gatewayClient();
    served = [];
    const echoer = gw.app('echoer', EchoContract);
    expect(gw.app('echoer', EchoContract)).toBe(echoer);
    expect(served).toEqual([]);
    await gw.registerApp({ name: 'echoer', url: echo.url });
    expect(await echoer.echo({ message: 'typed' })).toEqual({ echoed: 'typed' });
    expect(() => gw.app('not valid')).toThrow(InvalidInputError);
  });

  it('registers from a client of the app, as the reference framework did', async () => {
    const gw = await gatewayClient();
    const direct = await EchoService.connect(echo.url);
    clients.push(direct);
    const proxied = await gw.registerApp({ name: 'echoer', client: direct });
    expect(await proxied.echo({ message: 'via client' })).toEqual({ echoed: 'via client' });
    expect(served).toContain('/echoer/echo');
  });
});

describe('ProxyConnectionManager', () => {
  it('sends a typed client calls through the gateway', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    const direct = await EchoService.connect(echo.url);
    clients.push(direct);
    const proxied = await ProxyConnectionManager.wrap(direct, gateway.url, 'echoer');
    clients.push(proxied);
    expect(proxied).toBeInstanceOf(ProxyConnectionManager);
    expect(proxied.gatewayUrl).toBe(gateway.url);
    expect(proxied.appName).toBe('echoer');
    expect(proxied.serverId).toBe(echo.serverId);
    served = [];
    expect(await proxied.echo({ message: 'proxied' })).toEqual({ echoed: 'proxied' });
    expect(await proxied.heartbeat()).toMatchObject({ server_id: echo.serverId });
    expect(served).toEqual(['/echoer/echo', '/echoer/heartbeat']);
  });

  it('wraps a client made without a contract, reading the endpoints through the gateway', async () => {
    const gw = await gatewayClient();
    await gw.registerApp({ name: 'echoer', url: echo.url });
    const direct = await connect(echo.url);
    clients.push(direct);
    const proxied = await ProxyConnectionManager.wrap(direct, gateway.url, 'echoer');
    clients.push(proxied);
    expect(await proxied.echo({ message: 'dynamic' })).toEqual({ echoed: 'dynamic' });
    await expect(proxied.echo({ message: 3 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('fails to wrap for an app the gateway does not know, saying so', async () => {
    const direct = await EchoService.connect(echo.url);
    clients.push(direct);
    await expect(ProxyConnectionManager.wrap(direct, gateway.url, 'ghost')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('No app named "ghost"'),
    });
  });
});

describe('clients in separate processes', () => {
  const children: ChildProcessWithoutNullStreams[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    }
  });

  function remoteClient(): { send: (line: string) => Promise<any>; ready: Promise<void> } {
    const script = fileURLToPath(new URL('./fixtures/remote-client.ts', import.meta.url));
    const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
    const child = spawn(node, [script, gateway.url], { detached: true, stdio: 'pipe' });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => {
      const line = await Promise.race([lines.next(), once(child, 'exit').then(() => ({ value: undefined, done: true }))]);
      if (line.done || line.value === undefined) throw new Error(`the client process ended: ${stderr}`);
      return line.value as string;
    };
    return {
      ready: next().then((line) => expect(line).toBe('ready')),
      send: async (command) => {
        child.stdin.write(`${command}\n`);
        return JSON.parse(await next());
      },
    };
  }

  it('a client made before registration, in another process, reaches the app another process registered', async () => {
    const registrar = remoteClient();
    const caller = remoteClient();
    await Promise.all([registrar.ready, caller.ready]);
    expect(await caller.send('echo echoer early')).toMatchObject({ error: ErrorCodes.APP_NOT_REGISTERED });
    expect(await registrar.send(`register echoer ${echo.url}`)).toEqual({ ok: 'registered' });
    expect(await caller.send('echo echoer across-processes')).toEqual({ ok: { echoed: 'across-processes' } });
    expect(await registrar.send('echo echoer from-the-registrar')).toEqual({ ok: { echoed: 'from-the-registrar' } });
  });
});
