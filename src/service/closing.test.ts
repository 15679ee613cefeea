import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isDown } from '../client/liveness.ts';
import { GateService } from '../../test/fixtures/gate.service.ts';
import { waitFor } from '../../test/helpers/processes.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The responses of one HTTP/1.1 connection, in order (taskmesh's replies carry Content-Length). */
function parseResponses(raw: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const end = headEnd + 4 + Number(headers['content-length']);
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.slice(headEnd + 4, end)) });
    rest = rest.slice(end);
  }
  return responses;
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(stops.splice(0).map((stop) => stop()));
});

/**
 * Send `request` on a connection that already carries a call in progress, once the service is
 * closing (its listener refuses new connections), and return what that connection got. The call
 * in progress keeps the connection busy, so no idle-connection sweep can close it first; the gate
 * opens only once the server has taken the request.
 */
async function askWhileClosing(request: string): Promise<RawResponse[]> {
  const service = new GateService({ host: '127.0.0.1', port: 0, logger: false });
  await service.start();
  stops.push(async () => {
    service.open();
    await service.stop();
  });
  const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
  let raw = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
  const closed = once(socket, 'close');
  socket.write('POST /gate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
  await service.entered;
  const stopping = service.stop();
  await waitFor(() => isDown(service.url, undefined, { timeout: 5_000 }), 10_000, 'the listener to close');
  const taken = once(service.app!.server, 'request');
  socket.write(request);
  await taken;
  service.open();
  await closed;
  await stopping;
  return parseResponses(raw);
}

describe('a request that reaches a closing service on a connection it already had', () => {
  it('status answers Stopping, in taskmesh\'s shape, and the connection closes', async () => {
    const [first, second] = await askWhileClosing('GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(first).toMatchObject({ status: 200, body: { passed: true } });
    expect(second).toMatchObject({ status: 200, headers: { connection: 'close' }, body: { status: 'Stopping' } });
  });

  it('heartbeat answers with status Stopping', async () => {
    const [, second] = await askWhileClosing('GET /heartbeat HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(second).toMatchObject({ status: 200, body: { heartbeat: { status: 'Stopping', message: 'GateService is Stopping.' } } });
  });

  it('an endpoint call gets 503 TASKMESH_STOPPING with a message and a request id', async () => {
    const [, second] = await askWhileClosing('POST /gate HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nX-Request-ID: late-call\r\n\r\n');
    expect(second).toEqual({
      status: 503,
      headers: expect.objectContaining({ connection: 'close', 'x-request-id': 'late-call' }),
      body: { error: 'Service Unavailable', code: 'TASKMESH_STOPPING', message: 'GateService is Stopping and takes no new calls.', request_id: 'late-call' },
    });
  });
});
