/**
 * The interactive docs page at /docs (Swagger UI), built on its first request. Registering the
 * Swagger UI plugins costs about a third of a service's start (they list and route their static
 * files), and most services are never browsed: the page lives in a small Fastify app of its own,
 * made on first use, and /docs requests are handed to it.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

// Hop-by-hop and framing headers are the outer server's business.
const DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

async function buildDocsApp(document: Record<string, unknown>): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  const docs = Fastify({ logger: false });
  await docs.register(swagger, { mode: 'static', specification: { document: document as never } });
  await docs.register(swaggerUi, { routePrefix: '/docs' });
  await docs.ready();
  return docs;
}

export function registerDocsPage(app: FastifyInstance, document: () => Record<string, unknown>): void {
  let docs: Promise<FastifyInstance> | undefined;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    docs ??= buildDocsApp(document()).catch((error: unknown) => {
      docs = undefined; // the next request tries again
      throw error;
    });
    const res = await (await docs).inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers: request.headers });
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !DROPPED.has(name)) void reply.header(name, value);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  for (const url of ['/docs', '/docs/*']) app.route({ method: ['GET', 'HEAD'], url, schema: { hide: true }, handler });
  app.addHook('onClose', async () => {
    const built = await docs?.catch(() => undefined);
    await built?.close();
  });
}
