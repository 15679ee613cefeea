/**
 * ProxyConnectionManager: a service's client whose calls go through a gateway. Its URL is the
 * gateway's URL plus the app's name, so `echo(...)` posts to `{gateway}/{app}/echo` and the
 * gateway forwards it. The wrapped client's contract (or, without one, the app's endpoints read
 * through the gateway) gives it the same methods.
 */
import { normalizeUrl } from '../config.ts';
import { connect, type ConnectOptions } from '../client/connect.ts';
import {
  ConnectionManager,
  type ClientInit,
  type ConnectionManagerClass,
  type ContractMethods,
  type DynamicClient,
} from '../client/connection-manager.ts';
import type { AnyContract } from '../task.ts';

const ClientBase: ConnectionManagerClass = ConnectionManager;

/** What wrap() gives: typed by the wrapped client's contract, or any method for a client without one. */
export type ProxyClient<C extends AnyContract> = AnyContract extends C ? ProxyConnectionManager & DynamicClient : ProxyConnectionManager & ContractMethods<C>;

export class ProxyConnectionManager extends ClientBase {
  /** The gateway the calls go through. */
  readonly gatewayUrl: string;
  /** The app's name at the gateway. */
  readonly appName: string;

  /** `init.url` is `{gateway}/{app}`. */
  constructor(init: ClientInit) {
    super(init);
    const cut = this.url.lastIndexOf('/');
    this.gatewayUrl = this.url.slice(0, cut);
    this.appName = this.url.slice(cut + 1);
  }

  /**
   * A client like `client`, whose calls go through the gateway at `gatewayUrl` to the app
   * registered there as `appName`. One heartbeat through the gateway checks the route.
   */
  static wrap<C extends AnyContract>(
    client: { contract?: C | undefined },
    gatewayUrl: string,
    appName: string,
    options?: Omit<ConnectOptions, 'connectionManager'>,
  ): Promise<ProxyClient<C>>;
  static async wrap(
    client: { contract?: AnyContract | undefined },
    gatewayUrl: string,
    appName: string,
    options: Omit<ConnectOptions, 'connectionManager'> = {},
  ): Promise<unknown> {
    const url = `${normalizeUrl(gatewayUrl)}/${encodeURIComponent(appName)}`;
    const settings = { ...options, connectionManager: ProxyConnectionManager };
    return client.contract ? connect(url, client.contract, settings) : connect(url, undefined, settings);
  }
}
