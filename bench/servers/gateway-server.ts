// taskmesh's equivalent of the proxy anchors: a Gateway on the port given as the first argument,
// with one app registered (through its client, as a user would) that forwards to UPSTREAM_URL.
// Default logging, like every taskmesh server here.
//   node bench/servers/gateway-server.ts PORT APP_NAME UPSTREAM_URL
import { Gateway } from '../../src/index.ts';

const [portText, app, upstream] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || !app || !upstream) {
  console.error('usage: node bench/servers/gateway-server.ts PORT APP_NAME UPSTREAM_URL');
  process.exit(2);
}
const gateway = new Gateway({ host: '127.0.0.1', port });
const url = await gateway.start();
const client = await Gateway.connect(url);
await client.registerApp({ name: app, url: upstream });
await client.close();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void gateway.stop());
await gateway.whenDown();
