/** OpenAPI 3.1 document of a service, generated from its endpoints' tasks. */
import { taskJsonSchema, type JsonSchema } from '../task.ts';
import type { Endpoint } from './endpoint.ts';

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error', 'code', 'message'],
  properties: {
    error: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string' },
    request_id: { type: 'string' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'array', items: { type: ['string', 'integer'] } }, message: { type: 'string' } },
      },
    },
  },
};

function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** What the document's `info` says of the service (OpenAPI's Info Object). */
export interface OpenApiInfo {
  title: string;
  version?: string;
  description?: string;
  summary?: string;
  termsOfService?: string;
  contact?: { name?: string; url?: string; email?: string };
  license?: { name: string; identifier?: string; url?: string };
}

/** A GET's input as query parameters, one per field of its input's JSON Schema. */
function queryParameters(input: JsonSchema): Record<string, unknown>[] {
  const properties = (input.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((input.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
    // An array is its items, each as a repeated field.
    ...(schema.type === 'array' ? { style: 'form', explode: true } : {}),
  }));
}

/** The `info` of a service's document, from its class name and options. */
export function openApiInfo(title: string, options: Omit<OpenApiInfo, 'title'>): OpenApiInfo {
  const { version, description, summary, termsOfService, contact, license } = options;
  return { title, ...Object.fromEntries(Object.entries({ version, description, summary, termsOfService, contact, license }).filter(([, value]) => value !== undefined)) };
}

export function openApiDocument(endpoints: Iterable<Endpoint>, info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    const schemas = taskJsonSchema(endpoint.task);
    const operations: Record<string, unknown> = {};
    for (const method of endpoint.methods) {
      const operation: Record<string, unknown> = {
        operationId: endpoint.methods.length > 1 ? `${endpoint.methodName}_${method.toLowerCase()}` : endpoint.methodName,
        summary: endpoint.task.description ?? endpoint.path,
        tags: [endpoint.builtin ? 'built-in' : 'endpoints'],
        responses: {
          '200': {
            description: 'Success',
            content: { 'application/json': { schema: schemas.output ? withoutDialect(schemas.output) : {} } },
          },
          '422': { description: 'The input does not match the schema', content: { 'application/json': { schema: errorSchema } } },
          '500': { description: 'The handler failed', content: { 'application/json': { schema: errorSchema } } },
          ...(endpoint.scope === 'admin'
            ? { '401': { description: 'Admin token missing or wrong', content: { 'application/json': { schema: errorSchema } } } }
            : {}),
        },
      };
      if (schemas.input && method === 'GET') operation.parameters = queryParameters(withoutDialect(schemas.input));
      else if (schemas.input) operation.requestBody = { required: true, content: { 'application/json': { schema: withoutDialect(schemas.input) } } };
      if (endpoint.scope === 'admin') operation.security = [{ adminToken: [] }];
      operations[method.toLowerCase()] = operation;
    }
    paths[`/${endpoint.path}`] = operations;
  }
  return {
    openapi: '3.1.0',
    info: { ...info, version: info.version ?? '1.0.0' },
    paths,
    components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
  };
}
