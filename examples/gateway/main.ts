// Two services behind one gateway, reached three ways: plain HTTP, the typed client, and one MCP
// endpoint that lists both services' tools. Run it with `node examples/gateway/main.ts`.
import { Gateway } from '../../src/index.ts';
import { EchoContract } from '../echo/echo.contract.ts';
import { EchoService } from '../echo/echo.service.ts';
import { GreeterContract } from './greeter.contract.ts';
import { GreeterService } from './greeter.service.ts';

// Each service and the gateway in a process of its own; all three stop at the end of this script.
await using echo = await EchoService.launch({ host: '127.0.0.1', port: 0, progress: false });
await using greeter = await GreeterService.launch({ host: '127.0.0.1', port: 0, progress: false });
await using gw = await Gateway.launch({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0), progress: false });
console.log(`gateway at ${gw.url}`);

// Registering is an admin call: allowed here because the caller and the gateway are on loopback.
const echoer = await gw.registerApp({ name: 'echoer', url: echo.url, contract: EchoContract });
await gw.registerApp({ name: 'greeter', url: greeter.url });
console.log(`apps: ${Object.keys(await gw.listApps()).join(', ')}`);

// 1. Plain HTTP: /{app}/{path} is forwarded to the app.
const reply = await fetch(`${gw.url}/echoer/echo`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'over plain HTTP' }),
});
console.log('http  ', await reply.json());

// 2. The typed client: from registerApp, from gw.app(name, contract), or untyped as gw.<app>.
console.log('typed ', await echoer.echo({ message: 'through the typed client' }));
console.log('typed ', await gw.app('greeter', GreeterContract).greet({ name: 'Ada', language: 'fr' }));
console.log('any   ', await gw.greeter.greet({ name: 'Grace' }));

// 3. MCP: the gateway's own endpoint lists every app's tools as <app>_<tool>.
const mcp = await Gateway.mcp.connect(gw.url);
try {
  const { tools } = await mcp.listTools();
  console.log(`mcp tools: ${tools.map((t) => t.name).filter((n) => n.endsWith('echo') || n.endsWith('greet')).join(', ')}`);
  const result = await mcp.callTool({ name: 'greeter_greet', arguments: { name: 'Linus', language: 'es' } });
  console.log('mcp   ', result.structuredContent);
} finally {
  await mcp.close();
}
