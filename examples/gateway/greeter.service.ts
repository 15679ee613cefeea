import { Service, type EndpointHandler, type ServiceOptions } from '../../src/index.ts';
import { GreeterContract, greet } from './greeter.contract.ts';

const hello = { en: 'Hello', fr: 'Bonjour', es: 'Hola' } as const;

export class GreeterService extends Service.for(GreeterContract, import.meta.url) {
  constructor(options?: ServiceOptions) {
    super(options);
    this.addEndpoint('greet', this.greet, { schema: greet, asTool: true });
  }

  greet: EndpointHandler<typeof greet> = ({ name, language }) => ({ greeting: `${hello[language]}, ${name}!` });
}
