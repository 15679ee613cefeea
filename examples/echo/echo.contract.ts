// The echo contract: shared by the service and its clients; imports no server code.
import { z } from 'zod';
import { contract, task } from '../../src/index.ts';

export const echo = task({
  name: 'echo',
  description: 'Echo a message back, after an optional delay in seconds.',
  input: z.object({ message: z.string(), delay: z.number().min(0).max(60).default(0) }),
  output: z.object({ echoed: z.string() }),
});

export const EchoContract = contract('EchoService', { echo });
