import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, Service, buildUrl, defaultUrlFor, settings } from './index.ts';
import { envKeyFor, isLoopbackHost } from './config.ts';

function configFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'taskmesh-config-')), name);
  writeFileSync(path, text);
  return path;
}

describe('URLs', () => {
  it('default to http://localhost:8000', () => {
    expect(defaultUrlFor(undefined, {})).toBe('http://localhost:8000');
    expect(buildUrl({}, undefined, {})).toBe('http://localhost:8000');
  });

  it('take url over host/port over the default', () => {
    const env = { TASKMESH_DEFAULT_URL: 'http://10.0.0.5:9000' };
    expect(buildUrl({ url: 'http://example.test:1234/', host: 'ignored', port: 1 }, undefined, env)).toBe('http://example.test:1234');
    expect(buildUrl({ host: '127.0.0.1', port: 8081 }, undefined, env)).toBe('http://127.0.0.1:8081');
    expect(buildUrl({ port: 8081 }, undefined, env)).toBe('http://10.0.0.5:8081');
    expect(buildUrl({ host: 'svc.local' }, undefined, env)).toBe('http://svc.local:9000');
    expect(buildUrl({ host: '::1', port: 8 }, undefined, {})).toBe('http://[::1]:8');
    expect(buildUrl({}, undefined, env)).toBe('http://10.0.0.5:9000');
  });

  it('refuse bad URLs and ports with a clear error', () => {
    expect(() => buildUrl({ url: 'localhost:8080' }, undefined, {})).toThrow(ConfigError);
    expect(() => buildUrl({ url: 'ftp://x' }, undefined, {})).toThrow(/not an http\(s\) URL.*http:\/\/localhost:8080/);
    expect(() => buildUrl({ port: 70000 }, undefined, {})).toThrow(/port must be an integer from 0 to 65535/);
  });
});

describe('per-service default URLs', () => {
  it('come from TASKMESH_URL_<CLASS_NAME>', () => {
    expect(envKeyFor('EchoService')).toBe('ECHO_SERVICE');
    expect(envKeyFor('HTTPGateway2')).toBe('HTTPGATEWAY2');
    const env = { TASKMESH_URL_ECHO_SERVICE: 'http://127.0.0.1:7001' };
    expect(defaultUrlFor('EchoService', env)).toBe('http://127.0.0.1:7001');
    expect(defaultUrlFor('OtherService', env)).toBe('http://localhost:8000');
    expect(buildUrl({ port: 7002 }, 'EchoService', env)).toBe('http://127.0.0.1:7002');
  });

  it('come from the config file, and the environment wins over it', () => {
    const file = configFile('taskmesh.yaml', 'defaultUrl: http://127.0.0.1:9100\nservices:\n  EchoService:\n    url: http://127.0.0.1:9101\n');
    expect(defaultUrlFor('EchoService', { TASKMESH_CONFIG: file })).toBe('http://127.0.0.1:9101');
    expect(defaultUrlFor('Other', { TASKMESH_CONFIG: file })).toBe('http://127.0.0.1:9100');
    expect(defaultUrlFor('EchoService', { TASKMESH_CONFIG: file, TASKMESH_URL_ECHO_SERVICE: 'http://127.0.0.1:9102' })).toBe('http://127.0.0.1:9102');
  });

  it('are used by a service class and its connect()', async () => {
    class PortedService extends Service {}
    process.env.TASKMESH_URL_PORTED_SERVICE = 'http://127.0.0.1:0';
    try {
      expect(PortedService.defaultUrl()).toBe('http://127.0.0.1:0');
      const service = new PortedService({ logger: false });
      const url = await service.start();
      try {
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        process.env.TASKMESH_URL_PORTED_SERVICE = url;
        const cm = await PortedService.connect();
        expect(cm.url).toBe(url);
        expect(await cm.status()).toBe('Available');
        await cm.close();
      } finally {
        await service.stop();
      }
    } finally {
      delete process.env.TASKMESH_URL_PORTED_SERVICE;
    }
  });
});

describe('settings', () => {
  it('have defaults for pid and log folders and the MCP paths', () => {
    const s = settings({});
    expect(s.pidDir).toMatch(/\.cache\/taskmesh\/pids$/);
    expect(s.logDir).toMatch(/\.cache\/taskmesh\/logs$/);
    expect([s.mcpMountPath, s.mcpAppPath]).toEqual(['/mcp-server', '/mcp']);
  });

  it('read JSON config files and the environment overrides', () => {
    const file = configFile('c.json', JSON.stringify({ pidDir: '/srv/pids', mcp: { mountPath: '/m' } }));
    const s = settings({ TASKMESH_CONFIG: file, TASKMESH_MCP_APP_PATH: '/x' });
    expect(s.pidDir).toBe('/srv/pids');
    expect([s.mcpMountPath, s.mcpAppPath]).toEqual(['/m', '/x']);
  });

  it('explain a missing, malformed or misspelled config file', () => {
    expect(() => settings({ TASKMESH_CONFIG: '/nonexistent/taskmesh.yaml' })).toThrow(/cannot be read/);
    expect(() => settings({ TASKMESH_CONFIG: configFile('bad.json', '{nope') })).toThrow(/not valid JSON/);
    expect(() => settings({ TASKMESH_CONFIG: configFile('typo.yaml', 'pidDri: /x\n') })).toThrow(/invalid.*pidDri/s);
  });
});

it('recognises loopback hosts', () => {
  for (const h of ['localhost', '127.0.0.1', '127.8.9.1', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.test']) expect(isLoopbackHost(h)).toBe(false);
});
