// `npm start`: the echo service in the foreground until Ctrl-C.
import { mcpUrl } from '../../src/index.ts';
import { EchoService } from './echo.service.ts';

const port = Number(process.env.PORT ?? 8080);
const service = new EchoService({ host: '127.0.0.1', port });
const url = await service.start();
console.error(`EchoService at ${url}  (docs: ${url}/docs, OpenAPI: ${url}/openapi.json, MCP: ${mcpUrl(url)}). Ctrl-C stops it.`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void service.stop());
}
await service.whenDown();
