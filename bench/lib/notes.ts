/**
 * What was found when a row missed its goal (profiled with --cpu-prof and counted with callgrind),
 * and what was changed: printed under the row in bench/RESULTS.md.
 */
export const notes: Record<string, string> = {};
