import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from './environment.ts';
import { BenchError } from './errors.ts';
import { checkWrk, parseWrk, runWrk } from './wrk.ts';

const ok = `Running 4s test @ http://127.0.0.1:18002/echo
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.00ms    1.23ms  22.00ms   90.00%
    Req/Sec    16.33k     4.89k   21.76k    62.50%
  65099 requests in 4.02s, 12.11MB read
Requests/sec:  16231.90
Transfer/sec:      3.01MB
`;

describe('parseWrk', () => {
  it('reads the request count, duration, rate and latency', () => {
    const result = parseWrk(ok);
    expect(result).toMatchObject({ requests: 65099, seconds: 4.02, requestsPerSecond: 16231.9, latencyMs: 2, non2xx: 0 });
    expect(result.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
  });

  it('reads microsecond latencies, socket errors and non-2xx replies', () => {
    const text = ok
      .replace('2.00ms', '812.50us')
      .replace('Requests/sec', '  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 17\nRequests/sec');
    const result = parseWrk(text);
    expect(result.latencyMs).toBeCloseTo(0.8125);
    expect(result.non2xx).toBe(17);
    expect(result.socketErrors).toEqual({ connect: 1, read: 2, write: 3, timeout: 4 });
  });

  it('refuses text that is not a wrk report, quoting it', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/no request count.*Connection refused/s);
  });
});

describe('checkWrk', () => {
  const base = parseWrk(ok);

  it('lets a clean run through', () => {
    expect(checkWrk(base, 'http://x/echo')).toBe(base);
  });

  it('refuses a run with error replies: a fast error is not a fast server', () => {
    expect(() => checkWrk({ ...base, non2xx: 5 }, 'http://x/echo')).toThrow(BenchError);
    expect(() => checkWrk({ ...base, non2xx: 5 }, 'http://x/echo')).toThrow(/5 of 65099 replies from http:\/\/x\/echo were not 2xx/);
  });

  it('refuses connection errors, and more than 1 timeout in 1000 requests', () => {
    expect(() => checkWrk({ ...base, socketErrors: { connect: 0, read: 1, write: 0, timeout: 0 } }, 'u')).toThrow(/socket errors/);
    expect(() => checkWrk({ ...base, socketErrors: { connect: 0, read: 0, write: 0, timeout: 66 } }, 'u')).toThrow(/timeout 66/);
    expect(checkWrk({ ...base, socketErrors: { connect: 0, read: 0, write: 0, timeout: 65 } }, 'u')).toBeTruthy();
  });

  it('refuses a run that completed nothing', () => {
    expect(() => checkWrk({ ...base, requests: 0 }, 'http://x/echo')).toThrow(/no request/);
  });
});

describe('runWrk against a real server', () => {
  const wrk = findExecutable('wrk');

  it.skipIf(!wrk)('loads it and counts only successes; a server answering errors fails the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
    const script = join(dir, 'post.lua');
    writeFileSync(script, 'wrk.method = "POST"\nwrk.body = "{}"\n');
    let status = 200;
    const server = createServer((_req, res) => {
      res.statusCode = status;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const result = await runWrk({ url, script, seconds: 1, connections: 2, pin: [] });
      expect(result.requests).toBeGreaterThan(0);
      status = 500;
      await expect(runWrk({ url, script, seconds: 1, connections: 2, pin: [] })).rejects.toThrow(/were not 2xx/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!wrk)('says so when nothing listens', async () => {
    await expect(runWrk({ url: 'http://127.0.0.1:1/', script: '/dev/null', seconds: 1, connections: 1, pin: [] })).rejects.toThrow(BenchError);
  });
});
