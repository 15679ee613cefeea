// Context for the HTTP row, not an anchor: ../shared/anchors/fastify_echo.mjs exactly, but with
// Fastify's own default logger (`logger: true`: pino, two lines per request), so that the cost of
// logging each request can be told apart from the rest of taskmesh's. Run from the anchors folder
// copy's packages, like the anchor.
//   node bench/servers/fastify-echo-logged.mjs PORT ANCHORS_DIR
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';

const [port, anchors] = process.argv.slice(2);
const Fastify = createRequire(join(anchors, 'package.json'))('fastify');
const app = Fastify({ logger: true });
app.post('/echo', {
  schema: {
    body: { type: 'object', required: ['message'], properties: { message: { type: 'string' }, delay: { type: 'number', default: 0 } } },
    response: { 200: { type: 'object', required: ['echoed'], properties: { echoed: { type: 'string' } } } },
  },
}, async (req) => ({ echoed: req.body.message }));
await app.listen({ host: '127.0.0.1', port: Number(port) });
