/**
 * The Gateway's contract: register, unregister and list apps. Shared by the gateway and its
 * clients, so it imports no server code.
 */
import { z } from 'zod';
import { EndpointDetailSchema } from '../protocol.ts';
import { contract, task } from '../task.ts';

/**
 * App names are one URL path segment and the prefix of federated MCP tool names (`<app>_<tool>`),
 * so: a letter, then letters, digits, `_` or `-`, at most 32 characters in all.
 */
export const APP_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const appNameSchema = z
  .string()
  .regex(APP_NAME_PATTERN, 'App names start with a letter and have at most 32 letters, digits, _ or -');

/** An http(s) URL without credentials, query or fragment: the base the gateway forwards to. */
export const appUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `Not a URL: write it like http://localhost:8080` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'Only http and https URLs can be registered' });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'The URL must not carry credentials' });
  if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'The URL must not have a query string or fragment' });
});

const statusSchema = z.enum(['Launching', 'Available', 'Stopping', 'Down', 'FailedToLaunch']);

export const AppHealthSchema = z.object({
  status: statusSchema,
  /** The app's server id from its last heartbeat; null when it never answered one. */
  server_id: z.string().nullable(),
  message: z.string().nullable(),
  /** When the gateway last checked (ISO 8601); null before the first check. */
  checked_at: z.string().nullable(),
});
export type AppHealth = z.infer<typeof AppHealthSchema>;

export const AppInfoSchema = z.object({
  name: z.string(),
  url: z.string(),
  health: AppHealthSchema,
  /** The app's endpoints with their schemas, from its `detailed_endpoints`; empty until it answers. */
  endpoints: z.record(z.string(), EndpointDetailSchema),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

export const registerApp = task({
  name: 'register_app',
  description:
    'Register (or replace) an app under a name: the gateway then forwards /{name}/{path} to {url}/{path}. Admin: needs the admin token unless called from loopback to a loopback-only gateway.',
  input: z.strictObject({ name: appNameSchema, url: appUrlSchema }),
  output: AppInfoSchema,
  scope: 'admin',
});

export const unregisterApp = task({
  name: 'unregister_app',
  description: 'Remove a registered app. Admin, like register_app.',
  input: z.strictObject({ name: z.string() }),
  output: z.object({ removed: z.string() }),
  scope: 'admin',
});

export const listApps = task({
  name: 'list_apps',
  description: 'Every registered app with its URL, its health and its endpoints with their schemas.',
  output: z.object({ apps: z.record(z.string(), AppInfoSchema) }),
});

export const GatewayContract = contract('Gateway', { registerApp, unregisterApp, listApps });
export type GatewayContract = typeof GatewayContract;
