/**
 * The service the MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) is
 * run against: the tools, resources and prompts its scenarios call by name, built with
 * taskmesh's public API only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Service, type McpContext, type ServiceOptions } from '../../src/index.ts';

/** A 1x1 red PNG and a minimal WAV file, as the scenarios expect them. */
const IMAGE = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const AUDIO = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const text = (value: string) => ({ type: 'text' as const, text: value });

/** SEP-1613: the suite checks that $schema, $defs and additionalProperties reach the client. */
const Address = z.object({ street: z.string().optional(), city: z.string().optional() }).meta({ id: 'address' });

const defaultsForm = {
  type: 'object' as const,
  properties: {
    name: { type: 'string' as const, description: 'User name', default: 'John Doe' },
    age: { type: 'integer' as const, description: 'User age', default: 30 },
    score: { type: 'number' as const, description: 'User score', default: 95.5 },
    status: { type: 'string' as const, description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
    verified: { type: 'boolean' as const, description: 'Verification status', default: true },
  },
  required: [],
};

const enumsForm = {
  type: 'object' as const,
  properties: {
    untitledSingle: { type: 'string' as const, description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
    titledSingle: {
      type: 'string' as const,
      description: 'Select one option with titles',
      oneOf: [
        { const: 'value1', title: 'First Option' },
        { const: 'value2', title: 'Second Option' },
        { const: 'value3', title: 'Third Option' },
      ],
    },
    legacyEnum: { type: 'string' as const, description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
    untitledMulti: {
      type: 'array' as const,
      description: 'Select multiple options',
      minItems: 1,
      maxItems: 3,
      items: { type: 'string' as const, enum: ['option1', 'option2', 'option3'] },
    },
    titledMulti: {
      type: 'array' as const,
      description: 'Select multiple options with titles',
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: 'value1', title: 'First Choice' },
          { const: 'value2', title: 'Second Choice' },
          { const: 'value3', title: 'Third Choice' },
        ],
      },
    },
  },
  required: [],
};

/** A plain elicitation request: the suite's client answers with content of its own, so it is reported, not checked against the form. */
async function elicit(context: McpContext, message: string, requestedSchema: object, label: string): Promise<string> {
  const result = await context.mcp.mcpReq.send({ method: 'elicitation/create', params: { message, requestedSchema } });
  return `${label}: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
}

export class ConformanceService extends Service {
  constructor(options?: ServiceOptions) {
    super(options);
    this.#tools();
    this.#resources();
    this.#prompts();
  }

  #tools(): void {
    this.addTool('test_simple_text', () => ({ content: [text('This is a simple text response for testing.')] }), { description: 'Tests simple text content response' });
    this.addTool('test_image_content', () => ({ content: [{ type: 'image', data: IMAGE, mimeType: 'image/png' }] }), { description: 'Tests image content response' });
    this.addTool('test_audio_content', () => ({ content: [{ type: 'audio', data: AUDIO, mimeType: 'audio/wav' }] }), { description: 'Tests audio content response' });
    this.addTool(
      'test_embedded_resource',
      () => ({ content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }] }),
      { description: 'Tests embedded resource content response' },
    );
    this.addTool(
      'test_multiple_content_types',
      () => ({
        content: [
          text('Multiple content types test:'),
          { type: 'image', data: IMAGE, mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
        ],
      }),
      { description: 'Tests response with multiple content types (text, image, resource)' },
    );
    this.addTool(
      'test_tool_with_logging',
      async (_input, context) => {
        for (const [i, message] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
          if (i > 0) await sleep(50);
          await context.mcp.mcpReq.log('info', message);
        }
        return 'Tool with logging executed successfully';
      },
      { description: 'Tests tool that emits log messages during execution' },
    );
    this.addTool(
      'test_tool_with_progress',
      async (_input, context) => {
        for (const step of [0, 50, 100]) {
          if (step > 0) await sleep(50);
          await context.progress(step, 100, `Completed step ${step} of 100`);
        }
        return String(context.mcp.mcpReq._meta?.progressToken ?? 0);
      },
      { description: 'Tests tool that reports progress notifications' },
    );
    this.addTool(
      'test_error_handling',
      () => {
        throw new Error('This tool intentionally returns an error for testing');
      },
      { description: 'Tests error response handling' },
    );
    this.addTool(
      'test_reconnection',
      async (_input, context) => {
        // Close the response stream mid-call: the client resumes it with Last-Event-ID (SEP-1699).
        context.mcp.http?.closeSSE?.();
        await sleep(100);
        return 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.';
      },
      { description: 'Tests SSE stream disconnection and client reconnection (SEP-1699)' },
    );
    this.addTool(
      'test_sampling',
      async ({ prompt }, context) => {
        const result = await context.mcp.mcpReq.requestSampling({ messages: [{ role: 'user', content: text(prompt) }], maxTokens: 100 });
        const content = Array.isArray(result.content) ? result.content[0] : result.content;
        return `LLM response: ${content?.type === 'text' ? content.text : 'No response'}`;
      },
      { description: 'Tests server-initiated sampling (LLM completion request)', input: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }) },
    );
    this.addTool(
      'test_elicitation',
      ({ message }, context) =>
        elicit(context, message, { type: 'object', properties: { response: { type: 'string', description: "User's response" } }, required: ['response'] }, 'User response'),
      { description: 'Tests server-initiated elicitation (user input request)', input: z.object({ message: z.string().describe('The message to show the user') }) },
    );
    this.addTool('test_elicitation_sep1034_defaults', (_input, context) => elicit(context, 'Please review and update the form fields with defaults', defaultsForm, 'Elicitation completed'), {
      description: 'Tests elicitation with default values per SEP-1034',
    });
    this.addTool('test_elicitation_sep1330_enums', (_input, context) => elicit(context, 'Please select options from the enum fields', enumsForm, 'Elicitation completed'), {
      description: 'Tests elicitation with enum schema improvements per SEP-1330',
    });
    this.addTool('json_schema_2020_12_tool', (args) => `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`, {
      description: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)',
      input: z.strictObject({ name: z.string().optional(), address: Address.optional() }),
    });
  }

  #resources(): void {
    this.addResource('test://static-text', () => 'This is the content of the static text resource.', {
      name: 'static-text',
      title: 'Static Text Resource',
      description: 'A static text resource for testing',
      mimeType: 'text/plain',
    });
    this.addResource('test://static-binary', () => Buffer.from(IMAGE, 'base64'), {
      name: 'static-binary',
      title: 'Static Binary Resource',
      description: 'A static binary resource (image) for testing',
      mimeType: 'image/png',
    });
    this.addResource('test://template/{id}/data', (_uri, { id }) => JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }), {
      name: 'template',
      title: 'Resource Template',
      description: 'A resource template with parameter substitution',
      mimeType: 'application/json',
    });
    this.addResource('test://watched-resource', () => 'Watched resource content', {
      name: 'watched-resource',
      title: 'Watched Resource',
      description: 'A resource that clients can subscribe to',
      mimeType: 'text/plain',
    });
  }

  #prompts(): void {
    this.addPrompt('test_simple_prompt', () => 'This is a simple prompt for testing.', { title: 'Simple Test Prompt', description: 'A simple prompt without arguments' });
    this.addPrompt('test_prompt_with_arguments', ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`, {
      title: 'Prompt With Arguments',
      description: 'A prompt with required arguments',
      arguments: z.object({ arg1: z.string().describe('First test argument'), arg2: z.string().describe('Second test argument') }),
      complete: { arg1: (value) => ['paris', 'park', 'party'].filter((v) => v.startsWith(value)) },
    });
    this.addPrompt(
      'test_prompt_with_embedded_resource',
      ({ resourceUri }) => [
        { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: text('Please process the embedded resource above.') },
      ],
      {
        title: 'Prompt With Embedded Resource',
        description: 'A prompt that includes an embedded resource',
        arguments: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
      },
    );
    this.addPrompt(
      'test_prompt_with_image',
      () => [
        { role: 'user', content: { type: 'image', data: IMAGE, mimeType: 'image/png' } },
        { role: 'user', content: text('Please analyze the image above.') },
      ],
      { title: 'Prompt With Image', description: 'A prompt that includes image content' },
    );
  }
}
