// A service with startup and shutdown hooks: it opens a resource before it becomes Available,
// reports on it in the heartbeat, and closes it after in-flight requests have drained.
import { z } from 'zod';
import { Service, contract, task, type EndpointHandler, type ServiceOptions } from '../../src/index.ts';

export const count = task({
  name: 'count',
  description: 'Add to the counter and return the new total.',
  input: z.object({ by: z.number().int().positive().default(1) }),
  output: z.object({ total: z.number().int() }),
});

export const CounterContract = contract('CounterService', { count });

export class CounterService extends Service.for(CounterContract, import.meta.url) {
  /** Stands for a real resource (a database pool, a model): opened by onStartup, closed by onShutdown. */
  store: Map<string, number> | undefined;
  readonly events: string[] = [];

  constructor(options?: ServiceOptions) {
    super(options);
    this.addEndpoint('count', this.count, { schema: count });
  }

  override async onStartup(): Promise<void> {
    this.store = new Map([['total', 0]]);
    this.events.push('startup');
  }

  override async onShutdown(): Promise<void> {
    this.events.push(`shutdown at total ${this.store?.get('total') ?? 0}`);
    this.store = undefined;
  }

  override async heartbeatDetails(): Promise<unknown> {
    return { store: this.store ? 'open' : 'closed', total: this.store?.get('total') ?? null };
  }

  count: EndpointHandler<typeof count> = ({ by }) => {
    const total = (this.store?.get('total') ?? 0) + by;
    this.store?.set('total', total);
    return { total };
  };
}
