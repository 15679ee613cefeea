/**
 * In the launched process: import the target module and find the service class in it. Each way
 * this can fail is a StageError naming the stage, so the launcher can say what went wrong.
 */
import { setInterceptor, type LaunchableClass } from './intercept.ts';
import type { LaunchSpec, LaunchStage } from './messages.ts';

export class StageError extends Error {
  readonly stage: LaunchStage;
  readonly code: string | undefined;
  constructor(stage: LaunchStage, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.stage = stage;
    this.code = (cause as { code?: unknown })?.code !== undefined ? String((cause as { code: unknown }).code) : undefined;
  }
}

/** The class as the launcher sees it: constructible with options, with start/stop/whenDown. */
export interface ServiceInstance {
  start(): Promise<string>;
  stop(): Promise<void>;
  whenDown(): Promise<void>;
  onStartup(): Promise<void>;
  readonly serverId: string;
}
export type ServiceClass = (new (options: Record<string, unknown>) => ServiceInstance) & LaunchableClass;

/** Duck-typed, so that a class built on another copy of taskmesh (sources vs dist) still counts. */
export function isServiceClass(value: unknown): value is ServiceClass {
  if (typeof value !== 'function') return false;
  const proto = (value as { prototype?: Record<string, unknown> }).prototype;
  return typeof proto?.start === 'function' && typeof proto.stop === 'function' && typeof proto.addEndpoint === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `the ${value.name ? `function or class ${value.name}` : 'anonymous function'}, which does not extend Service`;
  if (typeof value === 'object') return `an object${value.constructor?.name ? ` (${value.constructor.name})` : ''}`;
  return `a ${typeof value}`;
}

function matches(spec: LaunchSpec, cls: LaunchableClass): boolean {
  if (cls.moduleUrl !== spec.moduleUrl) return false;
  const wanted = spec.className ?? spec.exportName;
  return wanted === undefined || cls.name === wanted;
}

export async function resolveServiceClass(spec: LaunchSpec): Promise<ServiceClass> {
  let capture!: (cls: ServiceClass) => void;
  const captured = new Promise<ServiceClass>((resolve) => (capture = resolve));
  setInterceptor((cls) => {
    if (!matches(spec, cls) || !isServiceClass(cls)) return 'other';
    capture(cls);
    return 'target';
  });
  const imported = import(spec.moduleUrl).then(
    (namespace: Record<string, unknown>) => ({ namespace }),
    (error: unknown) => ({ error }),
  );
  // A module whose top level launches the target never finishes importing: take the class from the call.
  const outcome = await Promise.race([imported, captured.then((cls) => ({ cls }))]);
  setInterceptor(undefined);
  if ('cls' in outcome) return outcome.cls;
  if ('error' in outcome) {
    const error = outcome.error as Error & { code?: string };
    const hint = error?.code === 'ERR_MODULE_NOT_FOUND' ? ' Check the path (relative paths are relative to the working directory).' : '';
    throw new StageError('import', `cannot import ${spec.moduleUrl}: ${String(error?.message ?? error).replace(/\.$/, '')}.${hint}`, error);
  }
  return findExport(spec, outcome.namespace);
}

function findExport(spec: LaunchSpec, namespace: Record<string, unknown>): ServiceClass {
  const where = spec.moduleUrl;
  const exportNames = Object.keys(namespace);
  if (spec.exportName !== undefined) {
    if (!(spec.exportName in namespace)) {
      throw new StageError('export', `${where} has no export named "${spec.exportName}" (its exports: ${exportNames.join(', ') || 'none'}).`);
    }
    const value = namespace[spec.exportName];
    if (!isServiceClass(value)) {
      throw new StageError('export', `the export "${spec.exportName}" of ${where} is not a Service class: it is ${describe(value)}. Export a class that extends Service.for(contract, import.meta.url).`);
    }
    return value;
  }
  const services = Object.entries(namespace).filter((entry): entry is [string, ServiceClass] => isServiceClass(entry[1]));
  if (spec.className !== undefined) {
    const found = services.find(([name]) => name === spec.className) ?? services.find(([, cls]) => cls.name === spec.className);
    if (found) return found[1];
    throw new StageError(
      'export',
      `${spec.className} is not exported from ${where}: the launched process finds the class among the module's exports, so write \`export class ${spec.className}\`. A class defined in another module than its launchable base class inherits the base's module URL: give it its own with \`static override moduleUrl = import.meta.url\`.`,
    );
  }
  if (services.length === 1) return services[0]![1];
  if (services.length === 0) throw new StageError('export', `${where} exports no Service class (its exports: ${exportNames.join(', ') || 'none'}).`);
  throw new StageError('export', `${where} exports several Service classes (${services.map(([name]) => name).join(', ')}): name one, as module#Export.`);
}
