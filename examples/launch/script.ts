// A service defined and launched in one script: the launched process imports this file to find the
// class, and its launch() call hands the class over there instead of launching again, so nothing
// after it runs in the service's process.
//   node examples/launch/script.ts
import { z } from 'zod';
import { Service, contract, task, type EndpointHandler, type ServiceOptions } from '../../src/index.ts';

const greet = task({ name: 'greet', input: z.object({ name: z.string() }), output: z.object({ greeting: z.string() }) });

interface GreeterOptions extends ServiceOptions {
  /** An init option: JSON data, handed to the launched process out of sight of `ps`. */
  salutation?: string;
}

class Greeter extends Service.for(contract('Greeter', { greet }), import.meta.url) {
  readonly salutation: string;

  constructor(options: GreeterOptions = {}) {
    super(options);
    this.salutation = options.salutation ?? 'Hello';
    this.addEndpoint('greet', this.greet, { schema: greet });
  }

  greet: EndpointHandler<typeof greet> = ({ name }) => ({ greeting: `${this.salutation}, ${name}!` });
}

await using greeter = await Greeter.launch({ host: '127.0.0.1', port: 0, salutation: 'Howdy' });
console.log(await greeter.greet({ name: 'launcher' }));
