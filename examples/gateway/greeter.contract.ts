// The greeter contract: shared by the service and its clients; imports no server code.
import { z } from 'zod';
import { contract, task } from '../../src/index.ts';

export const greet = task({
  name: 'greet',
  description: 'Greet someone by name, in English, French or Spanish.',
  input: z.object({ name: z.string().min(1), language: z.enum(['en', 'fr', 'es']).default('en') }),
  output: z.object({ greeting: z.string() }),
});

export const GreeterContract = contract('GreeterService', { greet });
