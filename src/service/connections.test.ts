// Shutdown and connections that carry no request: a client that connected and sent nothing, and
// the spare connection undici opens when one of its requests is aborted.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/processes.ts';
import { Service, ServerStatus, task, type ServiceOptions } from '../index.ts';

const slow = task({ name: 'slow' });

/** An endpoint that answers after a second, or as soon as its caller goes away. */
class Slow extends Service {
  #called!: () => void;
  readonly called = new Promise<void>((resolve) => (this.#called = resolve));

  constructor(options: ServiceOptions) {
    super(options);
    this.addEndpoint(
      'slow',
      (_input, context) => {
        this.#called();
        return sleep(1_000, null, { signal: context.signal }).catch(() => null);
      },
      { schema: slow },
    );
  }
}

const sockets: Socket[] = [];
const agents: Agent[] = [];
const services: Service[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

/** The shutdown limit is far beyond the test's time-out: only closing the idle connections lets stop() return in time. */
async function serve(): Promise<Slow> {
  const service = new Slow({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: 120_000 });
  services.push(service);
  await service.start();
  return service;
}

it('stop() closes a connection that never sent a request', { timeout: 20_000 }, async () => {
  const service = await serve();
  const { port, hostname } = new URL(service.url);
  const silent = connect(Number(port), hostname);
  sockets.push(silent);
  await once(silent, 'connect');
  const closed = once(silent, 'close');
  await service.stop();
  expect(service.status).toBe(ServerStatus.Down);
  await closed;
});

it('stop() does not wait for the spare connection a client opens after aborting a call', { timeout: 20_000 }, async () => {
  const service = await serve();
  let accepted = 0;
  service.app!.server.on('connection', () => accepted++);
  // A client that keeps idle connections for ten minutes, past the test's time-out.
  const agent = new Agent({ keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });
  agents.push(agent);
  // A client that has made calls before: then undici opens a spare connection when one is aborted.
  expect((await undiciFetch(`${service.url}/status`, { dispatcher: agent })).status).toBe(200);
  const call = undiciFetch(`${service.url}/slow`, { method: 'POST', dispatcher: agent, signal: AbortSignal.timeout(100) });
  await expect(call).rejects.toThrow(/abort|timeout/i);
  // One connection for the first call, one for the aborted call, then the spare.
  await waitFor(() => accepted === 3, 5_000, 'the spare connection');
  await service.stop();
  expect(service.status).toBe(ServerStatus.Down);
});

it('stop() still lets a request under way finish', { timeout: 20_000 }, async () => {
  const service = await serve();
  const answer = fetch(`${service.url}/slow`, { method: 'POST' });
  await service.called;
  const stopping = service.stop();
  const response = await answer;
  expect(response.status).toBe(200);
  await stopping;
});
