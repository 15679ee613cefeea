import { setTimeout as sleep } from 'node:timers/promises';
import { Service, type EndpointHandler, type ServiceOptions } from '../../src/index.ts';
import { EchoContract, echo } from './echo.contract.ts';

export class EchoService extends Service.for(EchoContract, import.meta.url) {
  constructor(options?: ServiceOptions) {
    super(options);
    this.addEndpoint('echo', this.echo, { schema: echo, asTool: true });
  }

  echo: EndpointHandler<typeof echo> = async ({ message, delay }) => {
    if (delay > 0) await sleep(delay * 1000);
    return { echoed: message };
  };
}
