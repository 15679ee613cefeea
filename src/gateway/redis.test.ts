// Gateway replicas sharing one registry in a real Redis server: what one registers every other
// forwards, lists and federates; Redis unreachable at start or later gives clear errors and loses
// nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { hasRedisServer, needsRedis, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { ErrorCodes } from '../errors.ts';
import type { Gateway, GatewayOptions } from './gateway.ts';
import { getJson, postJson, startGateway } from './test-support.ts';

let redis: RedisServer;
let echo: EchoService;
const running: Gateway[] = [];
let keys = 0;

beforeAll(async () => {
  if (!hasRedisServer) return;
  redis = await startRedis();
  echo = new EchoService({ host: '127.0.0.1', port: 0, logger: false });
  await echo.start();
});
afterAll(async () => {
  await echo?.stop();
  await redis?.dispose();
});
afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((gateway) => gateway.stop()));
  // A test that stopped Redis leaves it running again for the next.
  await redis?.start();
});

/** Replicas sharing the registry under one key of their own (a fresh key per test). */
async function replicas(count: 1, options?: GatewayOptions): Promise<[Gateway]>;
async function replicas(count: 2, options?: GatewayOptions): Promise<[Gateway, Gateway]>;
async function replicas(count: number, options: GatewayOptions = {}): Promise<Gateway[]> {
  const redisKey = `test:${++keys}`;
  const started: Gateway[] = [];
  for (let i = 0; i < count; i++) {
    const gateway = await startGateway({ redisUrl: redis.url, redisKey, ...options });
    running.push(gateway);
    started.push(gateway);
  }
  return started;
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

const appNames = async (gateway: Gateway): Promise<string[]> => Object.keys((await getJson(`${gateway.url}/list_apps`)).apps);

describe.skipIf(!hasRedisServer)(`replicas sharing a registry in Redis${needsRedis}`, () => {
  it('forward, list and federate what any of them registered, and drop what any removed', async () => {
    const [a, b] = await replicas(2);
    expect((await postJson(`${a.url}/register_app`, { name: 'echoer', url: echo.url })).status).toBe(200);
    await eventually(() => appNames(b), (names) => names.includes('echoer'), 'replica b to hear of echoer');
    expect((await postJson(`${b.url}/echoer/echo`, { message: 'through b' })).body).toEqual({ echoed: 'through b' });
    await eventually(
      async () => b.mcp.registry.toolListing().map((tool) => tool.name),
      (names) => names.includes('echoer_echo'),
      "replica b's MCP endpoint to list echoer's tools",
    );

    expect((await postJson(`${b.url}/unregister_app`, { name: 'echoer' })).status).toBe(200);
    await eventually(() => appNames(a), (names) => !names.includes('echoer'), 'replica a to drop echoer');
    const gone = await postJson(`${a.url}/echoer/echo`, { message: 'gone' });
    expect([gone.status, gone.body.code]).toEqual([404, ErrorCodes.APP_NOT_REGISTERED]);
  });

  it('keep both of two registrations made at once through different replicas, and a replica started later finds them', async () => {
    const [a, b] = await replicas(2);
    const results = await Promise.all([
      postJson(`${a.url}/register_app`, { name: 'one', url: echo.url }),
      postJson(`${b.url}/register_app`, { name: 'two', url: `${echo.url}/two` }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    for (const gateway of [a, b]) await eventually(() => appNames(gateway), (names) => names.join() === 'one,two', 'both apps everywhere');
    await a.stop();
    await b.stop();
    const [later] = await replicas(1, { redisKey: `test:${keys}` });
    expect(await appNames(later)).toEqual(['one', 'two']);
  });

  it('while Redis is down: a registration fails at once with 503, changing nothing, and forwarding goes on', async () => {
    const [a, b] = await replicas(2);
    await postJson(`${a.url}/register_app`, { name: 'echoer', url: echo.url });
    await eventually(() => appNames(b), (names) => names.includes('echoer'), 'replica b to hear of echoer');
    await redis.stop();

    const refused = await postJson(`${a.url}/register_app`, { name: 'late', url: echo.url });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCodes.REGISTRY_UNAVAILABLE);
    expect(refused.body.message).toContain(`The gateway's registry in Redis at ${redis.url} cannot be reached`);
    expect(refused.body.message).toContain('the change was not made');
    expect(await appNames(a)).toEqual(['echoer']);
    expect((await postJson(`${b.url}/echoer/echo`, { message: 'still here' })).body).toEqual({ echoed: 'still here' });

    // Back: the replicas reconnect, and a registration goes through to both.
    await redis.start();
    await eventually(
      async () => (await postJson(`${a.url}/register_app`, { name: 'late', url: echo.url })).status,
      (status) => status === 200,
      'a registration once Redis is back',
    );
    await eventually(() => appNames(b), (names) => names.join() === 'echoer,late', 'replica b to hear of late');
  });
});

describe.skipIf(!hasRedisServer)(`a registry lost with Redis${needsRedis}`, () => {
  it('Redis restarted without its data: the replicas write the registry back, and forwarding goes on', async () => {
    const redisKey = 'test:lost';
    const [a, b] = await replicas(2, { redisKey });
    await postJson(`${a.url}/register_app`, { name: 'echoer', url: echo.url });
    await postJson(`${a.url}/register_app`, { name: 'other', url: echo.url });
    await eventually(() => appNames(b), (names) => names.join() === 'echoer,other', 'replica b to hear of both apps');
    await redis.restartEmpty();

    expect((await postJson(`${b.url}/echoer/echo`, { message: 'meanwhile' })).body).toEqual({ echoed: 'meanwhile' });
    // A replica started now reads the registry from Redis alone.
    const [later] = await replicas(1, { redisKey });
    await eventually(() => appNames(later), (names) => names.join() === 'echoer,other', 'the registry back in Redis');
    expect(await appNames(a)).toEqual(['echoer', 'other']);
    expect((await postJson(`${later.url}/other/echo`, { message: 'after' })).body).toEqual({ echoed: 'after' });
  });
});

describe.skipIf(!hasRedisServer)(`misconfigured${needsRedis}`, () => {
  it('a gateway whose Redis cannot be reached does not start, and says where it looked', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(startGateway({ redisUrl: url })).rejects.toMatchObject({
      code: ErrorCodes.CONFIG,
      message: expect.stringMatching(new RegExp(`^Cannot reach Redis at ${url} \\(.*\\)\\. Start Redis there, or fix the URL\\.$`)),
    });
  });

  it('a password in the URL never shows in an error', async () => {
    const port = await freePort();
    const error = (await startGateway({ redisUrl: `redis://user:hunter2@127.0.0.1:${port}` }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(`redis://user:***@127.0.0.1:${port}`);
    expect(error.message).not.toContain('hunter2');
  });

  it('Redis and a state file at once are refused', async () => {
    await expect(startGateway({ redisUrl: redis.url, stateFile: '/tmp/x.json' })).rejects.toMatchObject({
      code: ErrorCodes.CONFIG,
      message: expect.stringContaining('not both'),
    });
  });
});
