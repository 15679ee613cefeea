/**
 * The benchmark's own failure: a row that cannot be measured says why in its message, and the
 * harness reports it for that row and goes on with the others. (The framework's catalogue in
 * src/errors.ts is for users of taskmesh; this is a development tool's.)
 */
export class BenchError extends Error {
  override name = 'BenchError';
}
