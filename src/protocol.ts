/**
 * The wire protocol's built-in endpoints, as tasks. Shared by the service (which serves them) and
 * the client (which calls them), with the reference framework's paths and shapes.
 */
import { z } from 'zod';
import { task } from './task.ts';

export const ServerStatus = {
  Launching: 'Launching',
  Available: 'Available',
  Stopping: 'Stopping',
  Down: 'Down',
  FailedToLaunch: 'FailedToLaunch',
} as const;
export type ServerStatus = (typeof ServerStatus)[keyof typeof ServerStatus];

const statusSchema = z.enum(['Launching', 'Available', 'Stopping', 'Down', 'FailedToLaunch']);

const jsonSchemaObject = z.record(z.string(), z.unknown());

export const EndpointDetailSchema = z.object({
  path: z.string(),
  method_name: z.string(),
  methods: z.array(z.string()),
  description: z.string().nullable(),
  input_schema: jsonSchemaObject.nullable(),
  output_schema: jsonSchemaObject.nullable(),
  as_tool: z.boolean(),
  scope: z.enum(['public', 'admin']),
  builtin: z.boolean(),
});
export type EndpointDetail = z.infer<typeof EndpointDetailSchema>;

export const HeartbeatSchema = z.object({
  status: statusSchema,
  server_id: z.string(),
  message: z.string().nullable(),
  details: z.unknown(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const builtinTasks = {
  endpoints: task({
    name: 'endpoints',
    description: 'List the names of every endpoint of the service.',
    output: z.object({ endpoints: z.array(z.string()) }),
  }),
  status: task({
    name: 'status',
    description: 'The service status: Launching, Available, Stopping, Down or FailedToLaunch.',
    output: z.object({ status: statusSchema }),
  }),
  heartbeat: task({
    name: 'heartbeat',
    description: 'Health of the service: status, server id, a message and service-specific details.',
    output: z.object({ heartbeat: HeartbeatSchema }),
  }),
  server_id: task({
    name: 'server_id',
    description: 'The random id of this running server.',
    output: z.object({ server_id: z.string() }),
  }),
  class_name: task({
    name: 'class_name',
    description: 'The class name of the service.',
    output: z.object({ class_name: z.string() }),
  }),
  pid_file: task({
    name: 'pid_file',
    description: 'Path of the pid file of the serving process, or null when it has none.',
    output: z.object({ pid_file: z.string().nullable() }),
  }),
  detailed_endpoints: task({
    name: 'detailed_endpoints',
    description: 'Every endpoint with its methods and its input and output JSON Schema.',
    output: z.object({ endpoints: z.record(z.string(), EndpointDetailSchema) }),
  }),
  shutdown: task({
    name: 'shutdown',
    description: 'Stop the service after in-flight requests finish. Admin: needs the admin token unless called from loopback to a loopback-only service.',
    scope: 'admin',
    output: z.object({ status: statusSchema }),
  }),
};

export type BuiltinName = keyof typeof builtinTasks;

/** Built-ins that only read state answer GET as well as POST. */
export const readOnlyBuiltins: readonly BuiltinName[] = [
  'endpoints',
  'status',
  'heartbeat',
  'server_id',
  'class_name',
  'pid_file',
  'detailed_endpoints',
];

/** Header that carries the admin token: `Authorization: Bearer <token>`. */
export const ADMIN_TOKEN_ENV = 'TASKMESH_ADMIN_TOKEN';
export const REQUEST_ID_HEADER = 'x-request-id';
