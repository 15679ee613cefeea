// Definitions of tools, resources and prompts: what is checked when they are added, how they are
// listed, and which changes are reported.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DefinitionError, Service, task } from '../index.ts';
import { McpRegistry } from './registry.ts';

const noop = () => 'ok';

describe('tools', () => {
  it('refuses invalid names and non-functions, naming the service', () => {
    const registry = new McpRegistry('DemoService');
    expect(() => registry.addTool('has space', noop)).toThrow(/Tool name "has space" of DemoService is not valid/);
    expect(() => registry.addTool('x'.repeat(129), noop)).toThrow(DefinitionError);
    expect(() => registry.addTool('ok', undefined as never)).toThrow(/needs a handler function/);
  });

  it('refuses a second tool of the same name, and says how to replace it', () => {
    const registry = new McpRegistry('DemoService');
    registry.addTool('twice', noop);
    expect(() => registry.addTool('twice', noop)).toThrow(/remove it first with removeTool\("twice"\)/);
    expect(registry.removeTool('twice')).toBe(true);
    expect(registry.removeTool('twice')).toBe(false);
    registry.addTool('twice', noop);
  });

  it('refuses a tool whose name an endpoint tool already has', () => {
    class Demo extends Service {
      constructor() {
        super({ logger: false });
        this.addEndpoint('ping', () => ({ pong: true }), { schema: task({ name: 'ping', output: z.object({ pong: z.boolean() }) }), asTool: true });
      }
    }
    const demo = new Demo();
    expect(() => demo.addTool('ping', noop)).toThrow(/its endpoint "ping" is a tool/);
    expect(() => demo.addTool('status', noop)).toThrow(/its endpoint "status" is a tool/);
  });

  it('needs an object input for tool arguments, from addTool and from asTool endpoints', () => {
    const registry = new McpRegistry('DemoService');
    expect(() => registry.addTool('scalar', noop, { input: z.string() })).toThrow(/input schema must be a z.object/);
    class Scalar extends Service {
      constructor() {
        super({ logger: false });
        this.addEndpoint('scalar', (s: string) => s, { schema: task({ name: 'scalar', input: z.string() }), asTool: true });
      }
    }
    expect(() => new Scalar()).toThrow(/Tool "scalar" of Scalar: MCP tool arguments are an object/);
  });

  it('lists tools with the service in the description, flat input schemas, and non-object outputs wrapped', () => {
    const registry = new McpRegistry('DemoService');
    registry.addTool('plain', noop);
    registry.addTool('typed', () => [1], { description: 'Typed.', input: z.object({ n: z.number().default(1) }), output: z.array(z.number()), annotations: { readOnlyHint: true } });
    const [plain, typed] = registry.toolListing();
    expect(plain).toEqual({ name: 'plain', description: 'The tool "plain" of DemoService.', inputSchema: { type: 'object', properties: {} } });
    expect(typed!.description).toBe('Typed. (tool "typed" of DemoService)');
    expect(typed!.inputSchema).toMatchObject({ type: 'object', properties: { n: { type: 'number', default: 1 } } });
    expect(typed!.outputSchema).toMatchObject({ type: 'object', properties: { result: { type: 'array', items: { type: 'number' } } }, required: ['result'] });
    expect(typed!.annotations).toEqual({ readOnlyHint: true });
    expect(registry.tool('typed')!.wrapOutput).toBe(true);
  });

  it('builds each listing once, and again after a change, which it reports', () => {
    const registry = new McpRegistry('DemoService');
    const changes: string[] = [];
    registry.onChange = (kind) => changes.push(kind);
    registry.addTool('a', noop);
    const first = registry.toolListing();
    expect(registry.toolListing()).toBe(first);
    registry.addTool('b', noop);
    expect(registry.toolListing()).not.toBe(first);
    expect(registry.toolListing().map((t) => t.name)).toEqual(['a', 'b']);
    registry.addResource('demo://x', noop);
    registry.addPrompt('p', noop);
    registry.removeResource('demo://x');
    registry.removePrompt('p');
    expect(changes).toEqual(['tools', 'tools', 'resources', 'prompts', 'resources', 'prompts']);
  });
});

describe('resources', () => {
  it('needs an absolute URI, and keeps list and complete for templates', () => {
    const registry = new McpRegistry('DemoService');
    expect(() => registry.addResource('relative/path', noop)).toThrow(/needs an absolute URI with a scheme/);
    expect(() => registry.addResource('demo://fixed', noop, { complete: { x: () => [] } })).toThrow(/apply to URI templates/);
    expect(() => registry.addResource('demo://x', 'text' as never)).toThrow(/needs a read handler function/);
    registry.addResource('demo://fixed', noop);
    expect(() => registry.addResource('demo://fixed', noop)).toThrow(/already has a resource "demo:\/\/fixed"/);
  });

  it('lists static resources and templates apart', () => {
    const registry = new McpRegistry('DemoService');
    registry.addResource('demo://fixed', noop, { name: 'fixed', mimeType: 'text/plain', size: 4 });
    registry.addResource('demo://items/{id}', noop, { description: 'An item.' });
    expect(registry.resourceListing()).toEqual([{ uri: 'demo://fixed', name: 'fixed', mimeType: 'text/plain', size: 4 }]);
    expect(registry.templateListing()).toEqual([{ uriTemplate: 'demo://items/{id}', name: 'demo://items/{id}', description: 'An item.' }]);
    expect(registry.counts).toEqual({ tools: 0, resources: 2, prompts: 0 });
  });
});

describe('prompts', () => {
  it('lists arguments from the zod object: descriptions, and required unless optional or defaulted', () => {
    const registry = new McpRegistry('DemoService');
    registry.addPrompt('ask', noop, {
      description: 'Ask.',
      arguments: z.object({ topic: z.string().describe('What about'), tone: z.string().optional(), length: z.string().default('short') }),
    });
    expect(registry.promptListing()).toEqual([
      {
        name: 'ask',
        description: 'Ask.',
        arguments: [
          { name: 'topic', description: 'What about', required: true },
          { name: 'tone', required: false },
          { name: 'length', required: false },
        ],
      },
    ]);
  });

  it('refuses arguments that are not an object, bad names and duplicates', () => {
    const registry = new McpRegistry('DemoService');
    expect(() => registry.addPrompt('p', noop, { arguments: z.string() })).toThrow(/"arguments" must be a z.object/);
    expect(() => registry.addPrompt('bad name', noop)).toThrow(/Prompt name "bad name" of DemoService is not valid/);
    registry.addPrompt('p', noop);
    expect(() => registry.addPrompt('p', noop)).toThrow(/removePrompt\("p"\)/);
  });
});
