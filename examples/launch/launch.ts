// Launch the echo service in processes of its own (two workers on one port), call it, and stop it.
//   node examples/launch/launch.ts
import { EchoService } from '../echo/echo.service.ts';

{
  // `await using`: the service is shut down at the end of this block.
  await using cm = await EchoService.launch({ host: '127.0.0.1', port: 0, numWorkers: 2 });
  console.log(`EchoService at ${cm.url} (pid ${cm.pid}; log: ${cm.logFile})`);
  console.log(await cm.echo({ message: 'hello from the launcher' }));
}
console.log('stopped');
