import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  ConnectionManager,
  Service,
  connect,
  contract,
  task,
  type EndpointHandler,
  type Heartbeat,
  type ServerStatus,
  type TaskInput,
  type TaskOutput,
} from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { EchoContract, echo } from '../../examples/echo/echo.contract.ts';

const ping = task({ name: 'ping' });
const close = task({ name: 'close', input: z.object({ door: z.string() }) });
const list = task({ name: 'models.list', input: z.object({ prefix: z.string().optional() }), output: z.object({ models: z.array(z.string()) }) });
const Toolbox = contract('Toolbox', { ping, close, models_list: list });

describe('task types', () => {
  it('inputs are what callers send (defaults optional), outputs what they get', () => {
    expectTypeOf<TaskInput<typeof echo>>().toEqualTypeOf<{ message: string; delay?: number | undefined }>();
    expectTypeOf<TaskOutput<typeof echo>>().toEqualTypeOf<{ echoed: string }>();
    expectTypeOf<TaskInput<typeof ping>>().toEqualTypeOf<void>();
    expectTypeOf<TaskOutput<typeof ping>>().toEqualTypeOf<unknown>();
  });

  it('a task names its HTTP methods from the five an endpoint answers, in capitals', () => {
    task({ name: 'by_get', methods: ['GET'] });
    // @ts-expect-error: not an HTTP method an endpoint answers
    task({ name: 'by_fetch', methods: ['FETCH'] });
    // @ts-expect-error: methods are capitals
    task({ name: 'by_lower', methods: ['get'] });
  });

  it('handlers get parsed input and must return the output shape', () => {
    const good: EndpointHandler<typeof echo> = ({ message, delay }) => {
      expectTypeOf(delay).toEqualTypeOf<number>();
      return { echoed: message };
    };
    // @ts-expect-error: the output needs `echoed`
    const bad: EndpointHandler<typeof echo> = ({ message }) => ({ echo: message });
    void good;
    void bad;
  });
});

describe('typed clients', () => {
  it('Service.connect returns a client typed from the contract', async () => {
    const cm = await EchoService.connect('http://localhost:8080');
    expectTypeOf(cm.echo({ message: 'hi' })).toEqualTypeOf<Promise<{ echoed: string }>>();
    expectTypeOf(cm.status()).toEqualTypeOf<Promise<ServerStatus>>();
    expectTypeOf(cm.heartbeat()).toEqualTypeOf<Promise<Heartbeat>>();
    expectTypeOf(cm.url).toEqualTypeOf<string>();
    expectTypeOf(cm.serverId).toEqualTypeOf<string | undefined>();
  });

  it('a wrong input does not compile', async () => {
    const cm = await EchoService.connect();
    // @ts-expect-error: message must be a string
    await cm.echo({ message: 1 });
    // @ts-expect-error: message is required
    await cm.echo({ delay: 1 });
    // @ts-expect-error: the input is required
    await cm.echo();
    await cm.echo({ message: 'ok', delay: 2 }, { timeout: 100, validateOutput: false });
    // @ts-expect-error: unknown call option
    await cm.echo({ message: 'ok' }, { retries: 3 });
  });

  it('a misspelled endpoint does not compile', async () => {
    const cm = await connect('http://localhost:8080', EchoContract);
    // @ts-expect-error: there is no `ecco`
    await cm.ecco({ message: 'hi' });
    // @ts-expect-error: call() knows the contract's keys
    await cm.call('ecco', { message: 'hi' });
    expectTypeOf(cm.call('echo', { message: 'x' })).toEqualTypeOf<Promise<{ echoed: string }>>();
  });

  it('optional and absent inputs may be left out; dotted names become underscores; built-ins win', async () => {
    const cm = await connect('http://localhost:8080', Toolbox);
    expectTypeOf(cm.ping()).toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(cm.models_list()).toEqualTypeOf<Promise<{ models: string[] }>>();
    expectTypeOf(cm.close).toEqualTypeOf<() => Promise<void>>();
    expectTypeOf(cm.call('close', { door: 'front' })).toEqualTypeOf<Promise<unknown>>();
  });

  it('custom connection managers keep their own methods and the contract\'s', async () => {
    class Loud extends ConnectionManager<typeof EchoContract> {
      async shout(message: string): Promise<string> {
        return (await this.echo({ message })).echoed.toUpperCase();
      }
    }
    class LoudEchoService extends EchoService {
      static override connectionManager = Loud;
    }
    const cm = await LoudEchoService.connect();
    expectTypeOf(cm).toExtend<Loud>();
    expectTypeOf(cm.shout('x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(cm.echo({ message: 'x' })).toEqualTypeOf<Promise<{ echoed: string }>>();
  });

  it('a client without a contract accepts any method', async () => {
    const cm = await connect('http://localhost:8080');
    expectTypeOf(cm.anything).toBeAny();
    expectTypeOf(cm.status()).toEqualTypeOf<Promise<ServerStatus>>();
  });

  it('addEndpoint infers the handler from the schema', () => {
    class S extends Service {
      constructor() {
        super();
        this.addEndpoint('echo', ({ message }) => ({ echoed: message.toUpperCase() }), { schema: echo });
        // @ts-expect-error: the handler returns the wrong shape for this schema
        this.addEndpoint('echo2', ({ message }) => ({ wrong: message }), { schema: echo });
      }
    }
    void S;
  });
});
