import { describe, expectTypeOf, it } from 'vitest';
import type { DynamicClient } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';
import { ProbeService } from '../../test/fixtures/launch/probe.service.ts';
import { launch } from './launch.ts';

describe('Service.launch types', () => {
  it('resolves to the typed client of the contract, with the log file and pid', async () => {
    const cm = await EchoService.launch({ port: 0 });
    expectTypeOf(cm.echo).parameter(0).toEqualTypeOf<{ message: string; delay?: number | undefined }>();
    expectTypeOf(cm.echo({ message: 'hi' })).resolves.toEqualTypeOf<{ echoed: string }>();
    expectTypeOf(cm.logFile).toEqualTypeOf<string | undefined>();
    expectTypeOf(cm.pid).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: the input is checked against the contract
    void cm.echo({ message: 1 });
  });

  it('resolves to nothing with waitForLaunch: false or block: true', () => {
    expectTypeOf(EchoService.launch({ waitForLaunch: false })).toEqualTypeOf<Promise<void>>();
    expectTypeOf(EchoService.launch({ block: true })).toEqualTypeOf<Promise<void>>();
  });

  it('takes the constructor options of the class as init options', () => {
    void ProbeService.launch({ port: 0, numWorkers: 2, greeting: 'hi', limits: { max: 1, tags: [] } });
    // @ts-expect-error: greeting is a string in ProbeOptions
    void ProbeService.launch({ greeting: 1 });
    // @ts-expect-error: not an option of the launch nor of the class
    void ProbeService.launch({ greting: 'typo' });
    // @ts-expect-error: numWorkers is a number
    void ProbeService.launch({ numWorkers: '2' });
  });
});

describe('launch(module#Export) types', () => {
  it('resolves to a client built at run time', () => {
    expectTypeOf(launch('./echo.service.ts#EchoService')).toEqualTypeOf<Promise<DynamicClient>>();
    expectTypeOf(launch('./echo.service.ts', { detached: true, waitForLaunch: false })).toEqualTypeOf<Promise<void>>();
  });
});
