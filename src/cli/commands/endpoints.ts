/** `taskmesh endpoints`: the endpoints of the service at a URL, with their input fields. */
import { ConnectionManager } from '../../client/connection-manager.ts';
import type { EndpointDetail } from '../../protocol.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, UsageError, urlArgument, wholeNumber, writeJson } from '../support.ts';

const usage = `Usage: taskmesh endpoints <url> [--all] [--json] [--timeout MS]

List the endpoints of the service at <url>: path, HTTP methods, input fields and description.

  --all          include the built-in endpoints (status, heartbeat, shutdown, ...)
  --json         print every endpoint's details (methods, description, input and output JSON
                 Schema) as JSON
  --timeout MS   how long to wait for an answer (default 5000)

Exit codes: 0 listed, 2 wrong arguments, 3 nothing answers, 4 what answers is not a taskmesh
service, 6 timed out.`;

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; enum?: unknown[]; items?: JsonSchema; anyOf?: JsonSchema[] };

function typeName(schema: JsonSchema | undefined): string {
  if (!schema) return 'any';
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeName).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  if (type === 'array') return `${typeName(schema.items)}[]`;
  return type ?? 'any';
}

/** `{ message: string, delay?: number }`: the input fields at a glance. */
export function inputSummary(schema: Record<string, unknown> | null): string {
  if (!schema) return '(no input)';
  const s = schema as JsonSchema;
  if (!s.properties) return typeName(s);
  const required = new Set(s.required ?? []);
  const fields = Object.entries(s.properties).map(([name, field]) => `${name}${required.has(name) ? '' : '?'}: ${typeName(field)}`);
  return fields.length ? `{ ${fields.join(', ')} }` : '{}';
}

export const endpointsCommand: CliCommand = {
  name: 'endpoints',
  summary: 'List the endpoints of the service at a URL',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let url: string, json: boolean, all: boolean, timeout: number;
    try {
      const { values, positionals } = parseCommandArgs(args, {
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
      });
      if (positionals.length !== 1) throw new UsageError(`endpoints takes one URL, got ${positionals.length} arguments.`);
      url = urlArgument(positionals[0]);
      json = values.json;
      all = values.all;
      timeout = wholeNumber(values.timeout, '--timeout', 1) ?? 5_000;
    } catch (error) {
      return fail(io, endpointsCommand, error);
    }
    const cm = new ConnectionManager({ url, timeout });
    try {
      const [details, className] = await Promise.all([cm.detailedEndpoints(), cm.className()]);
      const shown = Object.values(details).filter((e) => all || !e.builtin);
      if (json) writeJson(io, Object.fromEntries(shown.map((e) => [e.path, e])));
      else io.stdout.write(table(className, url, shown, Object.values(details).filter((e) => e.builtin && !all)));
      return ExitCode.Ok;
    } catch (error) {
      return fail(io, endpointsCommand, error);
    } finally {
      await cm.close();
    }
  },
};

function table(className: string, url: string, endpoints: EndpointDetail[], hiddenBuiltins: EndpointDetail[]): string {
  const rows = endpoints.map((e) => [e.path, e.methods.join(','), inputSummary(e.input_schema), `${e.scope === 'admin' ? '[admin] ' : ''}${e.description ?? ''}`]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => `  ${row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`.trimEnd());
  const count = `${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'}`;
  const footer = hiddenBuiltins.length ? `built-in (--all shows them): ${hiddenBuiltins.map((e) => e.path).join(', ')}\n` : '';
  return `${className} at ${url}: ${count}\n${lines.map((line) => `${line}\n`).join('')}${footer}`;
}
