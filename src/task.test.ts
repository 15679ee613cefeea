import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DefinitionError, contract, methodNameFor, task, taskJsonSchema } from './index.ts';

describe('task()', () => {
  it('keeps its schemas and allows tasks without input or output', () => {
    const input = z.object({ a: z.number() });
    const t = task({ name: 'sum', description: 'Sum', input });
    expect(t).toMatchObject({ name: 'sum', description: 'Sum', input, output: undefined });
    expect(task({ name: 'ping' }).input).toBeUndefined();
  });

  it('refuses names that are not endpoint paths', () => {
    for (const name of ['', 'has space', '1starts', 'a..b', '/lead', 'tail.']) {
      expect(() => task({ name })).toThrow(DefinitionError);
    }
    expect(task({ name: 'models.list-all' }).name).toBe('models.list-all');
  });

  it('gives the JSON Schema of input (as sent) and output (as received)', () => {
    const t = task({
      name: 'echo',
      input: z.object({ message: z.string(), delay: z.number().default(0) }),
      output: z.object({ echoed: z.string() }),
    });
    const schemas = taskJsonSchema(t);
    expect(schemas.input).toMatchObject({ type: 'object', required: ['message'], properties: { delay: { type: 'number', default: 0 } } });
    expect(schemas.output).toMatchObject({ type: 'object', required: ['echoed'] });
    expect(taskJsonSchema(t)).toBe(schemas);
    expect(taskJsonSchema(task({ name: 'ping' }))).toEqual({ input: null, output: null });
  });
});

describe('contract()', () => {
  it('groups tasks by client method name', () => {
    const a = task({ name: 'a' });
    const c = contract('Svc', { a });
    expect(c.name).toBe('Svc');
    expect(c.tasks.a).toBe(a);
  });

  it('refuses two keys served at one path, and values that are not tasks', () => {
    const a = task({ name: 'same' });
    const b = task({ name: 'same' });
    expect(() => contract('Svc', { a, b })).toThrow(/"b" and "a" are both served at "same"/);
    expect(() => contract('Svc', { a: { name: 'x' } as never })).toThrow(/not a task/);
  });
});

it('maps paths to method names', () => {
  expect(methodNameFor('models.list')).toBe('models_list');
  expect(methodNameFor('a-b/c')).toBe('a_b_c');
});
