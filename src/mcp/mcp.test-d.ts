// The MCP API's types: handler inputs come from the schemas, outputs are checked against them,
// and the client helpers give the SDK's Client.
import type { Client } from '@modelcontextprotocol/client';
import { expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { Service, type McpContext } from '../index.ts';
import { EchoService } from '../../examples/echo/echo.service.ts';

class Typed extends Service {
  constructor() {
    super();
    this.addTool(
      'sum',
      (input, context) => {
        expectTypeOf(input).toEqualTypeOf<{ a: number; b: number }>();
        expectTypeOf(context).toEqualTypeOf<McpContext>();
        return { total: input.a + input.b };
      },
      { input: z.object({ a: z.number(), b: z.number().default(0) }), output: z.object({ total: z.number() }) },
    );
    // @ts-expect-error the result must match the output schema
    this.addTool('wrong', () => ({ total: 'many' }), { output: z.object({ total: z.number() }) });
    this.addTool('bare', (input) => {
      expectTypeOf(input).toEqualTypeOf<void>();
      return 'anything';
    });
    this.addPrompt(
      'ask',
      (args) => {
        expectTypeOf(args).toEqualTypeOf<{ topic: string; tone: string }>();
        return `Tell me about ${args.topic}`;
      },
      { arguments: z.object({ topic: z.string(), tone: z.string().default('calm') }) },
    );
    this.addResource('typed://{id}', (uri, variables) => {
      expectTypeOf(uri).toEqualTypeOf<URL>();
      expectTypeOf(variables).toEqualTypeOf<Record<string, string | string[]>>();
      return new Uint8Array([1]);
    });
  }
}

it('types tools, prompts and resources from their schemas', () => {
  expectTypeOf<Typed['removeTool']>().returns.toEqualTypeOf<boolean>();
});

it('gives SDK clients', async () => {
  expectTypeOf(EchoService.mcp.connect).returns.toEqualTypeOf<Promise<Client>>();
  expectTypeOf(EchoService.mcp.launch).returns.toEqualTypeOf<Promise<Client>>();
  const cm = await EchoService.connect('http://localhost:1');
  expectTypeOf(cm.mcpClient).toEqualTypeOf<Promise<Client>>();
});
