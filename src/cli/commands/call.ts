/** `taskmesh call`: call one endpoint with a JSON input, and print its JSON reply. */
import { readFileSync } from 'node:fs';
import { connect } from '../../client/connect.ts';
import { ErrorCodes, TaskmeshError } from '../../errors.ts';
import { ADMIN_TOKEN_ENV } from '../../protocol.ts';
import { ExitCode, type CliCommand, type CliIo } from '../command.ts';
import { fail, parseCommandArgs, tokenFrom, UsageError, urlArgument, wholeNumber, writeJson } from '../support.ts';

const usage = `Usage: taskmesh call <url> <endpoint> [--json '{...}' | --json - | key=value ... | key:=json ...]
                     [--token TOKEN] [--timeout MS]

Call <endpoint> of the service at <url> and print its JSON reply. The input is checked against
the endpoint's input schema before it is sent.

  --json '{...}'  the input as a JSON object; --json - reads it from stdin
  key=value       one input field: a string where the schema says so, else JSON when the value
                  parses as JSON (count=3, flag=true), else a string; a.b=1 sets a nested field
  key:=json       one input field, always JSON (tags:='["a","b"]')
  --token TOKEN   the admin token, for admin endpoints (default: ${ADMIN_TOKEN_ENV})
  --timeout MS    how long to wait for the reply (default 60000)

Exit codes: 0 ok, 2 wrong arguments, 3 nothing answers, 4 the service refused or failed the call
(invalid input, unknown endpoint, handler error), 5 admin token missing or wrong, 6 timed out.`;

type Fields = Record<string, unknown>;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The schema of a (possibly nested) field, to tell whether a value is meant as a string. */
function fieldSchema(schema: unknown, path: string[]): { type?: unknown } | undefined {
  let current = schema as { properties?: Record<string, unknown> } | undefined;
  for (const key of path) current = current?.properties?.[key] as typeof current;
  return current as { type?: unknown } | undefined;
}

function isStringField(schema: unknown, path: string[]): boolean {
  const type = fieldSchema(schema, path)?.type;
  return type === 'string' || (Array.isArray(type) && type.includes('string') && !type.includes('number'));
}

/** Build the input object from key=value and key:=json pairs. */
export function fieldsInput(pairs: string[], inputSchema: unknown): Fields {
  const input: Fields = {};
  for (const pair of pairs) {
    const match = /^([^=:]+)(:?=)(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`"${pair}" is not an input field: write key=value or key:=json.`);
    const [, key, op, raw] = match as unknown as [string, string, string, string];
    const path = key.split('.');
    let value: unknown;
    if (op === ':=') value = parseJson(raw, `The value of ${key}`);
    else if (isStringField(inputSchema, path)) value = raw;
    else {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    let target = input;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      target = (next && typeof next === 'object' && !Array.isArray(next) ? next : (target[part] = {})) as Fields;
    }
    target[path.at(-1)!] = value;
  }
  return input;
}

export const callCommand: CliCommand = {
  name: 'call',
  summary: 'Call an endpoint and print its JSON reply',
  usage,
  async run(args: string[], io: CliIo): Promise<number> {
    let url: string, endpoint: string, jsonInput: string | undefined, pairs: string[], token: string | undefined, timeout: number;
    try {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'string' }, token: { type: 'string' }, timeout: { type: 'string' } });
      if (positionals.length < 2) throw new UsageError('call takes a URL and an endpoint name.');
      url = urlArgument(positionals[0]);
      endpoint = positionals[1]!.replace(/^\/+/, '');
      pairs = positionals.slice(2);
      if (values.json !== undefined && pairs.length) throw new UsageError('Give the input as --json or as key=value fields, not both.');
      jsonInput = values.json === '-' ? readFileSync(0, 'utf8') : values.json;
      token = tokenFrom(values.token, io);
      timeout = wholeNumber(values.timeout, '--timeout', 1) ?? 60_000;
    } catch (error) {
      return fail(io, callCommand, error);
    }
    let cm;
    try {
      cm = await connect(url, undefined, { ...(token ? { token } : {}), timeout });
      const details = await cm.detailedEndpoints();
      const detail = details[endpoint];
      if (!detail) {
        const names = Object.values(details).filter((e) => !e.builtin).map((e) => e.path);
        throw new TaskmeshError(ErrorCodes.NOT_FOUND, `${url} has no endpoint "${endpoint}"; its endpoints: ${names.join(', ') || 'only the built-in ones'} (\`taskmesh endpoints ${url}\` lists them).`);
      }
      const input = jsonInput !== undefined ? parseJson(jsonInput, 'The --json input') : pairs.length || detail.input_schema ? fieldsInput(pairs, detail.input_schema) : undefined;
      writeJson(io, (await cm.call(endpoint, input)) ?? null);
      return ExitCode.Ok;
    } catch (error) {
      return fail(io, callCommand, error);
    } finally {
      await cm?.close();
    }
  },
};
