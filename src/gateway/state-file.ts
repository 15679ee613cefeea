/**
 * A registry store in one JSON file, so that registrations survive a gateway restart. Each save
 * writes a temporary file beside it, flushes it and renames it over the old one: a crash leaves
 * either the old registry or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { APP_NAME_PATTERN } from './contract.ts';
import { recordStore, type AppRecord, type RegistryStore } from './registry.ts';

const StateSchema = z.object({
  version: z.literal(1),
  apps: z.array(z.object({ name: z.string().regex(APP_NAME_PATTERN), url: z.url(), registered_at: z.string() })),
});

export function stateFileStore(path: string): RegistryStore {
  return recordStore(`state file ${path}`, () => loadState(path), (records) => saveState(path, records));
}

async function loadState(path: string): Promise<AppRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`The gateway's state file ${path} cannot be read (${(error as Error).message}); check its permissions.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`The gateway's state file ${path} is not valid JSON (${(error as Error).message}); fix it or delete it to start with no apps.`);
  }
  const parsed = StateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`The gateway's state file ${path} is not a taskmesh gateway state: ${z.prettifyError(parsed.error)}. Fix it or delete it to start with no apps.`);
  }
  return parsed.data.apps;
}

async function saveState(path: string, records: AppRecord[]): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const text = `${JSON.stringify({ version: 1, apps: records }, null, 2)}\n`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {});
    throw new ConfigError(`The gateway cannot write its state file ${path} (${(error as Error).message}); the change was not made. Check the folder's permissions and free space.`);
  }
}
