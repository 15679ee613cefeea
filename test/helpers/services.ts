import { afterEach } from 'vitest';
import type { Service } from '../../src/index.ts';

/**
 * A `serve(service)` for a test file: starts the service and stops every service it started after
 * each test, even a failing one. Call it once at the top of the file.
 */
export function serveForEachTest(): <S extends Service>(service: S) => Promise<S> {
  const started: Service[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((service) => service.stop()));
  });
  return async (service) => {
    started.push(service);
    await service.start();
    return service;
  };
}
