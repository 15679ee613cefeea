import { afterEach, describe, expect, it } from 'vitest';
import { probeStatus } from '../client/liveness.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { GateService } from '../../test/fixtures/gate.service.ts';
import { droppingServer, resettingServer, type SeenRequest } from '../../test/helpers/http-servers.ts';
import { waitFor } from '../../test/helpers/processes.ts';
import type { Gateway, GatewayOptions } from './gateway.ts';
import { getJson, postJson, startGateway } from './test-support.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Last made, first stopped: gateways before the apps they check.
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function gateway(options: GatewayOptions = {}): Promise<Gateway> {
  const gw = await startGateway(options);
  cleanup.push(() => gw.stop());
  return gw;
}

async function appHealth(gw: Gateway, name: string): Promise<{ status: string; server_id: string | null; message: string }> {
  return (await getJson(`${gw.url}/heartbeat`)).heartbeat.details[name];
}

/** An app that answers a taskmesh heartbeat on every new connection and resets reused ones (see resettingServer). */
async function resettingApp(): Promise<{ url: string; seen: SeenRequest[] }> {
  const made = await resettingServer((req, res) => {
    const heartbeat = { status: 'Available', server_id: 'resetting-app', message: 'ResettingApp is available.', details: null };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.url === '/heartbeat' ? { heartbeat } : { endpoints: {} }));
  });
  cleanup.push(() => made.close());
  return made;
}

describe('app health', () => {
  it('an app whose kept-alive sockets are reset, but that answers new connections, is not Down', async () => {
    const app = await resettingApp();
    // MCP off: the gateway would otherwise ask this app, which serves no MCP, for its tools.
    const gw = await gateway({ mcp: { enabled: false } });
    await postJson(`${gw.url}/register_app`, { name: 'resetting', url: app.url });
    // A forwarded call leaves a kept-alive socket in the app's forwarding pool; wait until it is
    // free, so that a check sent on that pool would surely go out on it.
    expect((await postJson(`${gw.url}/resetting/heartbeat`, {})).status).toBe(200);
    const pool = gw.registry.get('resetting')!.pool;
    await waitFor(() => pool.stats.connected === 1 && pool.stats.free === 1, 5_000, 'the pooled connection to be free');

    expect(await appHealth(gw, 'resetting')).toMatchObject({ status: 'Available', server_id: 'resetting-app' });
    // Only the forwarded call used the pool; every check came on a connection of its own, closed after the answer.
    expect(app.seen.filter((s) => s.connection !== 'close')).toEqual([{ path: '/heartbeat', reused: false, connection: 'keep-alive' }]);
    expect(app.seen.filter((s) => s.reused)).toEqual([]);
  });

  it('an app that has stopped is Down, with the refused connection as the reason', async () => {
    const app = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
    const url = await app.start();
    cleanup.push(() => app.stop());
    const gw = await gateway();
    await postJson(`${gw.url}/register_app`, { name: 'echoer', url });
    expect(await appHealth(gw, 'echoer')).toMatchObject({ status: 'Available', server_id: app.serverId });
    await app.stop();
    expect(await appHealth(gw, 'echoer')).toEqual({
      status: 'Down',
      server_id: null,
      message: `App "echoer" at ${url} is down: connection refused (ECONNREFUSED).`,
      details: null,
    });
  });

  it('an app that accepts connections and closes them unanswered is Down, after three tries, and says so', async () => {
    const { url, accepted, close } = await droppingServer();
    cleanup.push(close);
    const gw = await gateway({ mcp: { enabled: false } });
    const { body } = await postJson(`${gw.url}/register_app`, { name: 'mute', url });
    expect(body.health).toMatchObject({ status: 'Down', server_id: null, message: `App "mute" at ${url} is down: it closes new connections without an answer.` });
    // One connection to see whether the URL is the gateway itself, then the heartbeat's three tries.
    expect(accepted()).toBe(4);
  });

  it('an app that is closing while it still answers a call the gateway forwarded is Stopping, then Down once it has stopped', async () => {
    const app = new GateService({ host: '127.0.0.1', port: 0, logger: false });
    const url = await app.start();
    cleanup.push(async () => {
      app.open();
      await app.stop();
    });
    const gw = await gateway();
    await postJson(`${gw.url}/register_app`, { name: 'gated', url });
    const inFlight = postJson(`${gw.url}/gated/gate`, {});
    await app.entered;
    const stopping = app.stop();
    await waitFor(async () => (await probeStatus(url, { timeout: 5_000 })).kind === 'refused', 10_000, 'the listener to close');

    expect(await appHealth(gw, 'gated')).toEqual({
      status: 'Stopping',
      server_id: null,
      message: `App "gated" at ${url} takes no new connections, but still answers 1 call the gateway forwarded: it is stopping.`,
      details: null,
    });
    expect((await getJson(`${gw.url}/list_apps`)).apps.gated.health.status).toBe('Stopping');

    app.open();
    expect(await inFlight).toMatchObject({ status: 200, body: { passed: true } });
    await stopping;
    expect(await appHealth(gw, 'gated')).toMatchObject({ status: 'Down', message: expect.stringContaining('ECONNREFUSED') });
  });
});
