import { describe, expectTypeOf, it } from 'vitest';
import type { EndpointDetail, Heartbeat, ServerStatus } from '../index.ts';
import { probe, probeSettled } from './liveness.ts';

describe('probe()', () => {
  it('types the reply by the built-in it asks', () => {
    expectTypeOf(probe<'heartbeat'>).returns.resolves.extract<{ kind: 'answered' }>().toEqualTypeOf<{ kind: 'answered'; reply: { heartbeat: Heartbeat } }>();
    expectTypeOf(probeSettled<'status'>).returns.resolves.extract<{ kind: 'answered' }>().toEqualTypeOf<{ kind: 'answered'; reply: { status: ServerStatus } }>();
    expectTypeOf(probe<'detailed_endpoints'>).returns.resolves.extract<{ kind: 'answered' }>().toEqualTypeOf<{ kind: 'answered'; reply: { endpoints: Record<string, EndpointDetail> } }>();
  });

  it('asks only built-ins that read: never shutdown, never an endpoint', () => {
    // @ts-expect-error: a probe must never be able to stop the service it looks at.
    void (() => probe('http://127.0.0.1:1', 'shutdown', { timeout: 1 }));
    // @ts-expect-error: endpoints are not probed.
    void (() => probeSettled('http://127.0.0.1:1', 'echo', { timeout: 1 }));
  });
});
