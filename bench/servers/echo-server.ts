// taskmesh's equivalent of the anchors' echo servers: the echo sample service, on the port given
// as the first argument, on 127.0.0.1, with the framework's default logging (stdout is a file or
// /dev/null, as in a deployment, never a terminal: the harness sees to that).
import { EchoService } from '../../examples/echo/echo.service.ts';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node bench/servers/echo-server.ts PORT');
  process.exit(2);
}
const service = new EchoService({ host: '127.0.0.1', port });
await service.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.stop());
await service.whenDown();
