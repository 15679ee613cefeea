import { describe, expectTypeOf, it } from 'vitest';
import type { Client } from '../client/connection-manager.ts';
import type { ServerStatus } from '../protocol.ts';
import { EchoContract } from '../../examples/echo/echo.contract.ts';
import type { AppHandle } from './client.ts';
import type { AppInfo } from './contract.ts';
import { Gateway } from './gateway.ts';
import { ProxyConnectionManager } from './proxy-connection-manager.ts';

declare const direct: Client<typeof EchoContract>;

describe('gateway client types', () => {
  it('keeps its own members typed next to the any-name app handles', async () => {
    const gw = await Gateway.connect('http://gw');
    expectTypeOf(gw.status).returns.toEqualTypeOf<Promise<ServerStatus>>();
    expectTypeOf(gw.listApps()).toEqualTypeOf<Promise<Record<string, AppInfo>>>();
    expectTypeOf(gw.app('echoer')).toEqualTypeOf<AppHandle>();
    // Any other name is an app handle, usable without `!` under noUncheckedIndexedAccess.
    void gw.echoer.echo({ message: 'hi' });
  });

  it('types an app by its contract', async () => {
    const gw = await Gateway.connect('http://gw');
    const echoer = gw.app('echoer', EchoContract);
    expectTypeOf(echoer).toEqualTypeOf<Client<typeof EchoContract>>();
    expectTypeOf(echoer.echo).parameter(0).toEqualTypeOf<{ message: string; delay?: number | undefined }>();
    expectTypeOf(echoer.echo({ message: 'hi' })).resolves.toEqualTypeOf<{ echoed: string }>();
    // @ts-expect-error message must be a string
    void echoer.echo({ message: 1 });
  });

  it('registerApp returns a typed client when given a contract or a typed client, a handle otherwise', async () => {
    const gw = await Gateway.connect('http://gw');
    expectTypeOf(gw.registerApp({ name: 'echoer', url: 'http://x', contract: EchoContract })).resolves.toEqualTypeOf<Client<typeof EchoContract>>();
    expectTypeOf(gw.registerApp({ name: 'echoer', client: direct })).resolves.toEqualTypeOf<Client<typeof EchoContract>>();
    expectTypeOf(gw.registerApp({ name: 'echoer', url: 'http://x' })).resolves.toEqualTypeOf<AppHandle>();
  });

  it('ProxyConnectionManager.wrap keeps the wrapped client methods', async () => {
    const proxied = await ProxyConnectionManager.wrap(direct, 'http://gw', 'echoer');
    expectTypeOf(proxied).toExtend<ProxyConnectionManager>();
    expectTypeOf(proxied.echo({ message: 'hi' })).resolves.toEqualTypeOf<{ echoed: string }>();
    expectTypeOf(proxied.appName).toEqualTypeOf<string>();
  });
});
