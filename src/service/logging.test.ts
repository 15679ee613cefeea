import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { z } from 'zod';
import { ErrorCodes, Service, contract, task, type EndpointHandler, type ServiceOptions } from '../index.ts';
import { logCapture } from '../../test/helpers/log-capture.ts';
import { RequestLines, TurnBatchedDestination } from './logging.ts';
import { ERAS, eraClient, eventually } from '../mcp/fixtures/clients.ts';

const hello = task({ name: 'hello', input: z.object({ name: z.string() }), output: z.object({ greeting: z.string() }) });
const HelloContract = contract('HelloContract', { hello });

class HelloService extends Service.for(HelloContract, import.meta.url) {
  constructor(options?: ServiceOptions) {
    super(options);
    this.addEndpoint('hello', this.hello, { schema: hello, asTool: true });
  }

  hello: EndpointHandler<typeof hello> = ({ name }, context) => {
    if (name === 'log') context.log.info({ extra: 1 }, 'handler line');
    if (name === 'boom') throw new Error('the handler failed');
    return { greeting: `hello ${name}` };
  };
}

const started: Service[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function serveWith(logger: ServiceOptions['logger']): Promise<HelloService> {
  const service = new HelloService({ host: '127.0.0.1', port: 0, logger });
  started.push(service);
  await service.start();
  return service;
}

async function call(service: Service, name: string, requestId: string): Promise<void> {
  const res = await request(`${service.url}/hello?x="q"`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ name }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

describe('the request line', () => {
  it('is, byte for byte, the line pino itself writes for the same fields (but the time)', async () => {
    const logs = logCapture();
    const raw: string[] = [];
    const write = logs.stream.write.bind(logs.stream);
    logs.stream.write = ((chunk: string, ...rest: never[]) => (raw.push(String(chunk)), write(chunk, ...rest))) as typeof logs.stream.write;
    const service = await serveWith({ level: 'info', stream: logs.stream });
    await call(service, 'ann', 'parity-1');
    const fast = raw.find((line) => line.includes('"parity-1"'))!;
    const parsed = JSON.parse(fast) as Record<string, unknown>;

    const reference: string[] = [];
    const pinoOwn = pino({ level: 'info' }, { write: (line: string) => void reference.push(line) });
    pinoOwn.child({ requestId: 'parity-1' }).info({ method: 'POST', url: parsed.url, status: 200, durationMs: parsed.durationMs }, 'request');
    const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');
    expect(withoutTime(fast)).toBe(withoutTime(reference[0]!));
  });

  it.each(['/plain?a=1', '/q"uote', '/back\\slash', '/tab\there', '/é€😀', '/lone\ud800'])('escapes the URL as pino does: %j', (url) => {
    const fast: string[] = [];
    const reference: string[] = [];
    const stream = { write: (line: string) => void fast.push(line) };
    new RequestLines(pino({ level: 'info' }, stream), { level: 'info', stream }).write('id-1', 'GET', url, 404, 1.5);
    pino({ level: 'info' }, { write: (line: string) => void reference.push(line) }).child({ requestId: 'id-1' }).info({ method: 'GET', url, status: 404, durationMs: 1.5 }, 'request');
    const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');
    expect(withoutTime(fast[0]!)).toBe(withoutTime(reference[0]!));
  });

  it('is the same line, in the same place among the turn\'s other lines, when standard output formats it at the end of the turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskmesh-log-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const destination = new TurnBatchedDestination(fd);
      const root = pino({ level: 'info' }, destination);
      const lines = new RequestLines(root, true);
      root.info('before');
      lines.write('id-1', 'POST', '/echo', 200, 0.37);
      root.child({ requestId: 'id-2' }).info('handler line');
      lines.write('id-2', 'GET', '/q"uote', 404, 12);
      expect(readFileSync(file, 'utf8')).toBe('');
      destination.flush();
      const written = readFileSync(file, 'utf8').trim().split('\n');
      const reference: string[] = [];
      const pinoOwn = pino({ level: 'info' }, { write: (line: string) => void reference.push(line.trim()) });
      pinoOwn.info('before');
      pinoOwn.child({ requestId: 'id-1' }).info({ method: 'POST', url: '/echo', status: 200, durationMs: 0.37 }, 'request');
      pinoOwn.child({ requestId: 'id-2' }).info('handler line');
      pinoOwn.child({ requestId: 'id-2' }).info({ method: 'GET', url: '/q"uote', status: 404, durationMs: 12 }, 'request');
      const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');
      expect(written.map(withoutTime)).toEqual(reference.map(withoutTime));
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('goes through pino when other pino options could change the line', async () => {
    const logs = logCapture();
    const service = await serveWith({ level: 'info', stream: logs.stream, messageKey: 'message', base: { app: 'hello' } });
    await call(service, 'bob', 'custom-1');
    expect(logs.lines.find((line) => line.requestId === 'custom-1')).toMatchObject({ message: 'request', app: 'hello', status: 200 });
  });

  it('is not written below the level it is logged at', async () => {
    const logs = logCapture();
    const service = await serveWith({ level: 'warn', stream: logs.stream });
    await call(service, 'cy', 'quiet-1');
    expect(logs.lines.filter((line) => line.requestId === 'quiet-1')).toEqual([]);
  });
});

describe('a stream given in the logger option', () => {
  it('gets every line, also when pino writes metadata on it (a multistream)', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const service = await serveWith({ stream: pino.multistream([{ stream: sink, level: 'info' }]) });
    await call(service, 'log', 'multi-1');
    const written = lines.map((line) => JSON.parse(line) as { msg: string; requestId?: string });
    expect(written.filter((line) => line.requestId === 'multi-1').map((line) => line.msg)).toEqual(['handler line', 'request']);
  });

  it('loses the lines, not the requests: every call is answered on either path, and a warning says so once', async () => {
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const service = await serveWith({
        stream: {
          write() {
            throw new Error('disk full');
          },
        },
      });
      // Beside Fastify, then (a query string) through it; a plain answer, a handler's own line, a handler that fails.
      for (const path of ['/hello', '/hello?via=fastify']) {
        for (const [name, status] of [['a', 200], ['log', 200], ['boom', 500]] as const) {
          const res = await request(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
          const body = (await res.body.json()) as { greeting?: string; code?: string };
          expect([path, name, res.statusCode]).toEqual([path, name, status]);
          expect(body).toEqual(status === 200 ? { greeting: `hello ${name}` } : expect.objectContaining({ code: ErrorCodes.HANDLER_FAILED }));
        }
      }
      await nextTurn();
      const told = warnings.filter((warning) => warning.code === ErrorCodes.LOG_STREAM_FAILED);
      expect(told).toHaveLength(1);
      expect(told[0]!.message).toContain('disk full');
      expect(told[0]!.message).toContain('`logger` option');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('MCP requests', () => {
  it.each(ERAS)('get their line too, also when the reply is a stream taken over from Fastify (%s)', async (era) => {
    const logs = logCapture();
    const service = await serveWith({ level: 'info', stream: logs.stream });
    const client = await eraClient(service.url, era);
    try {
      const result = await client.callTool({ name: 'hello', arguments: { name: 'mcp' } });
      expect(result.structuredContent).toEqual({ greeting: 'hello mcp' });
    } finally {
      await client.close();
    }
    const mcpLines = await eventually(() => {
      const found = logs.lines.filter((line) => line.msg === 'request' && String(line.url).startsWith('/mcp'));
      return found.length > 0 ? found : undefined;
    });
    for (const line of mcpLines) expect(line).toMatchObject({ method: expect.any(String), status: expect.any(Number), requestId: expect.any(String) });
    expect(mcpLines.some((line) => line.method === 'POST' && line.status === 200)).toBe(true);
  });
});

describe('request.log', () => {
  it('carries the request id in what a handler logs, beside the request line', async () => {
    const logs = logCapture();
    const service = await serveWith({ level: 'info', stream: logs.stream });
    await call(service, 'log', 'handler-1');
    const lines = logs.lines.filter((line) => line.requestId === 'handler-1');
    expect(lines.map((line) => line.msg)).toEqual(['handler line', 'request']);
    expect(lines[0]).toMatchObject({ extra: 1, level: 30 });
  });
});

/**
 * A process that logs through the default destination: it logs "first", then runs `onGo` (the
 * body of a function, with `log` in scope) once its standard input says go.
 */
function loggingChild(onGo: string, imports = ''): ChildProcessWithoutNullStreams {
  const logging = fileURLToPath(new URL('./logging.ts', import.meta.url));
  const script = `${imports}
    import { serviceLogger } from ${JSON.stringify(logging)};
    const log = serviceLogger(true);
    log.info('first');
    process.stdin.once('data', () => { ${onGo} });`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
}

describe('standard output, batched per event-loop turn', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the lines of one turn together when the turn ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskmesh-log-'));
    dirs.push(dir);
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const destination = new TurnBatchedDestination(fd);
      destination.write('one\n');
      destination.write('two\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      await nextTurn();
      expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
      destination.write('three\n');
      destination.flush();
      expect(readFileSync(file, 'utf8')).toBe('one\ntwo\nthree\n');
    } finally {
      closeSync(fd);
    }
  });

  it('shows a quiet process\'s line at once, and loses none when the process exits in the same turn', async () => {
    const child = loggingChild(`
      for (let i = 0; i < 500; i++) log.info({ i }, 'burst');
      process.exit(0);`);
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('"msg":"first"')) resolve();
        }),
      );
      child.stdin.write('go\n');
      await new Promise((resolve) => child.once('exit', resolve));
      const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; i?: number });
      expect(lines[0]!.msg).toBe('first');
      expect(lines.slice(1).map((line) => line.i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    } finally {
      child.kill();
    }
  });

  it('goes on, dropping its lines, when whatever read its standard output has gone', async () => {
    // After its lines, the child checks that its standard output is indeed a broken pipe.
    const child = loggingChild(
      `
      log.info('into a closed pipe');
      setTimeout(() => {
        log.info('and another');
        setTimeout(() => {
          let code = 'none';
          try { writeSync(1, 'x'); } catch (error) { code = error.code; }
          process.stderr.write('still here, stdout: ' + code + '\\n');
        }, 20);
      }, 20);`,
      "import { writeSync } from 'node:fs';",
    );
    try {
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      await new Promise((resolve) => child.stdout.once('data', resolve));
      child.stdout.destroy();
      child.stdin.write('go\n');
      while (!err.includes('still here') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(err.trim()).toBe('still here, stdout: EPIPE');
    } finally {
      child.kill();
    }
  });
});
