/** Positional arguments of a driver script, with a usage line when one is missing or wrong. */
export function positional(usage: string, names: string[]): Record<string, string> {
  const values = process.argv.slice(2);
  if (values.length < names.length) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return Object.fromEntries(names.map((name, i) => [name, values[i]!]));
}

export function positiveNumber(value: string, name: string): number {
  const n = Number(value);
  if (!(n > 0)) {
    console.error(`${name} must be a number above 0, got "${value}"`);
    process.exit(2);
  }
  return n;
}

/** Drivers answer the harness with one JSON line on stdout. */
export function report(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
