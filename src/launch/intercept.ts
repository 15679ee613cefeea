/**
 * A script may define a service and launch it at its top level. The launched process imports that
 * same script to find the class, which would run the script's `launch()` again, and again in the
 * grandchild. So while a launched process imports its target module, launch() calls are caught:
 * the call for the target class hands the class to the launcher and never returns (the rest of
 * the script does not run there, like Python's `if __name__ == '__main__'`); a call for another
 * class is refused with an error that says how to guard it.
 *
 * The hook is a global symbol, so that two copies of taskmesh (sources and dist) see one hook.
 */

export type InterceptVerdict = 'target' | 'other';

export interface LaunchableClass {
  readonly name: string;
  readonly moduleUrl?: string | undefined;
}

type Interceptor = (cls: LaunchableClass) => InterceptVerdict;

const hookKey = Symbol.for('taskmesh.launch.intercept');
const store = globalThis as { [hookKey]?: Interceptor | undefined };

export function setInterceptor(interceptor: Interceptor | undefined): void {
  store[hookKey] = interceptor;
}

/** Undefined outside a launched process's import of its module: launch as usual. */
export function interceptLaunch(cls: LaunchableClass): InterceptVerdict | undefined {
  return store[hookKey]?.(cls);
}
