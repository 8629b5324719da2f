import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseCliArgs, USAGE, UsageError } from '../src/cli';
import { EXAMPLE_RULES } from '../src/paths';
import { RULES } from './support/server';

describe('parseCliArgs', () => {
  it('defaults: the example rules in the package, the embedded SQLite store under the working directory', () => {
    expect(EXAMPLE_RULES).toBe(RULES);
    expect(parseCliArgs([], '/work', {})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      rules: EXAMPLE_RULES,
      store: { kind: 'sqlite', path: '/work/.data/segtag.db' },
      corsOrigin: '*',
      logLevel: 'info',
      s2s: true,
      s2sLeaseMs: undefined,
      drainMs: 5000,
      demo: false,
      admin: { host: '127.0.0.1', port: 9464 },
      rateLimit: { max: 600, windowSeconds: 60 },
      trustProxy: false,
      maxConnections: 10_000,
      timeouts: { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, connectionMs: 0 },
      help: false,
    });
  });

  it('every option also from a SEGTAG_* variable (argv wins); the Redis URL and password from the environment', () => {
    const env = {
      SEGTAG_PORT: '9090',
      SEGTAG_LOG_LEVEL: 'warn',
      SEGTAG_NO_S2S: 'true',
      SEGTAG_CORS_ORIGIN: 'https://a.example, https://b.example',
      SEGTAG_S2S_LEASE_MS: '2000',
      SEGTAG_DRAIN_MS: '100',
      SEGTAG_DEMO: 'true',
      SEGTAG_ADMIN_PORT: '0',
      SEGTAG_RATE_LIMIT: '20',
      SEGTAG_HEADERS_TIMEOUT_MS: '2000',
      REDIS_URL: 'redis://redis.internal:6379/2',
      SEGTAG_REDIS_PASSWORD: 's3cret',
    };
    expect(parseCliArgs(['--port', '1234'], '/work', env)).toMatchObject({
      port: 1234,
      logLevel: 'warn',
      s2s: false,
      corsOrigin: ['https://a.example', 'https://b.example'],
      s2sLeaseMs: 2000,
      drainMs: 100,
      demo: true,
      admin: { host: '127.0.0.1', port: 0 },
      rateLimit: { max: 20, windowSeconds: 60 },
      timeouts: { headersMs: 2000 },
      store: { kind: 'redis', url: 'redis://:s3cret@redis.internal:6379/2' },
    });
    expect(parseCliArgs([], '/w', { SEGTAG_NO_ADMIN: '1' }).admin).toBeUndefined();
    // SEGTAG_REDIS_URL before REDIS_URL; a password in the URL is kept; --store wins over both.
    expect(parseCliArgs([], '/w', { SEGTAG_REDIS_URL: 'redis://u:p@h:1', REDIS_URL: 'redis://x:2' }).store).toEqual({
      kind: 'redis',
      url: 'redis://u:p@h:1',
    });
    expect(parseCliArgs(['--store', 'memory'], '/w', { REDIS_URL: 'redis://x:2' }).store).toEqual({ kind: 'memory' });
    expect(() => parseCliArgs([], '/w', { SEGTAG_QUIET: 'maybe' })).toThrow(
      new UsageError('SEGTAG_QUIET: expected true or false, got "maybe"'),
    );
    for (const name of [
      'SEGTAG_STORE',
      'SEGTAG_S2S_LEASE_MS',
      'SEGTAG_DRAIN_MS',
      'SEGTAG_REDIS_URL',
      'REDIS_PASSWORD',
      '--demo SEGTAG_DEMO',
      '--admin-host SEGTAG_ADMIN_HOST',
      '--admin-port SEGTAG_ADMIN_PORT',
      '--no-admin SEGTAG_NO_ADMIN',
      '--rate-limit SEGTAG_RATE_LIMIT',
      '--rate-window SEGTAG_RATE_WINDOW',
      '--trust-proxy SEGTAG_TRUST_PROXY',
      '--max-connections SEGTAG_MAX_CONNECTIONS',
      '--headers-timeout-ms SEGTAG_HEADERS_TIMEOUT_MS',
      '--request-timeout-ms SEGTAG_REQUEST_TIMEOUT_MS',
      '--keep-alive-timeout-ms SEGTAG_KEEP_ALIVE_TIMEOUT_MS',
      '--connection-timeout-ms SEGTAG_CONNECTION_TIMEOUT_MS',
    ])
      expect(USAGE).toContain(name);
  });

  it('options', () => {
    const parsed = parseCliArgs(
      [
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--rules',
        'r.json',
        '--store',
        'redis://127.0.0.1:6379/2',
        '--cors-origin',
        'https://a.example',
        '--cors-origin=https://b.example',
        '--quiet',
        '--no-s2s',
        '--s2s-lease-ms',
        '2000',
        '--drain-ms',
        '0',
        '--demo',
        ...['--admin-host', '0.0.0.0', '--admin-port', '9100'],
        ...['--rate-limit', '100', '--rate-window', '10', '--trust-proxy', '10.0.0.0/8, 127.0.0.1'],
        ...['--max-connections', '500', '--headers-timeout-ms', '5000', '--request-timeout-ms', '20000'],
        ...['--keep-alive-timeout-ms', '65000', '--connection-timeout-ms', '120000'],
      ],
      '/work',
      {},
    );
    expect(parsed).toEqual({
      port: 0,
      host: '0.0.0.0',
      rules: '/work/r.json', // relative to the working directory, like any CLI path
      store: { kind: 'redis', url: 'redis://127.0.0.1:6379/2' },
      corsOrigin: ['https://a.example', 'https://b.example'],
      logLevel: 'warn',
      s2s: false,
      s2sLeaseMs: 2000,
      drainMs: 0,
      demo: true,
      admin: { host: '0.0.0.0', port: 9100 },
      rateLimit: { max: 100, windowSeconds: 10 },
      trustProxy: '10.0.0.0/8,127.0.0.1',
      maxConnections: 500,
      timeouts: { headersMs: 5000, requestMs: 20000, keepAliveMs: 65000, connectionMs: 120000 },
      help: false,
    });
    expect(parseCliArgs(['--no-admin', '--rate-limit', '0', '--max-connections', '0'])).toMatchObject({
      admin: undefined,
      rateLimit: { max: 0 },
      maxConnections: 0,
    });
    expect(parseCliArgs(['--trust-proxy', 'true']).trustProxy).toBe(true);
    expect(parseCliArgs(['--trust-proxy', '2']).trustProxy).toBe(2);
    expect(parseCliArgs(['--trust-proxy', 'false']).trustProxy).toBe(false);
    expect(parseCliArgs(['--store', 'memory', '--log-level', 'debug'])).toMatchObject({
      store: { kind: 'memory' },
      logLevel: 'debug',
    });
    expect(parseCliArgs(['--store', 'sqlite:/var/lib/segtag.db']).store).toEqual({
      kind: 'sqlite',
      path: '/var/lib/segtag.db',
    });
    expect(parseCliArgs(['-h']).help).toBe(true);
  });

  it.each([
    [['--port', 'http'], '--port: not a port number: http'],
    [['--port', '65536'], '--port: not a port number: 65536'],
    [['--port=-1'], '--port: not a port number: -1'],
    [['--port'], "Option '--port <value>' argument missing"],
    [['--store', 'mysql://x'], '--store: expected memory, sqlite:PATH or redis://HOST:PORT'],
    [['--store', 'sqlite:'], '--store sqlite:PATH needs a file path'],
    [['--log-level', 'loud'], '--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got loud'],
    [['--verbose'], "Unknown option '--verbose'"],
    [['--admin-port', '70000'], '--admin-port: not a port number: 70000'],
    [['--rate-limit', 'lots'], '--rate-limit: expected a whole number, got lots'],
    [['--rate-window', '0'], '--rate-window: expected a whole number (at least 1), got 0'],
    [['--max-connections=-1'], '--max-connections: expected a whole number, got -1'],
    [['--headers-timeout-ms', '10'], '--headers-timeout-ms: expected a whole number (at least 100), got 10'],
    [['--headers-timeout-ms', '40000'], '--headers-timeout-ms (40000) must not exceed --request-timeout-ms (30000)'],
    [['--trust-proxy', 'example.com'], '--trust-proxy: expected true, a number of hops or addresses/CIDRs'],
    [['serve'], "Unexpected argument 'serve'"],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });

  it('--help explains every option', () => {
    for (const option of [
      '--rules',
      '--store',
      'memory',
      'sqlite:PATH',
      'redis://',
      '--port',
      '--host',
      '--cors-origin',
      '--log-level',
      '--quiet',
      '--demo',
      '--admin-host',
      '--admin-port',
      '--no-admin',
      '--rate-limit',
      '--rate-window',
      '--trust-proxy',
      '--max-connections',
      '--headers-timeout-ms',
      '--request-timeout-ms',
      '--keep-alive-timeout-ms',
      '--connection-timeout-ms',
      'SIGTERM',
    ]) {
      expect(USAGE).toContain(option);
    }
  });
});

describe('main', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segtag-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('starts, prints where and what, serves, and shuts down on SIGTERM', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const db = join(dir, 'nested/dir/segtag.db');
    const app = (await main([
      ...['--port', '0', '--log-level', 'silent', '--store', `sqlite:${db}`, '--rules', RULES, '--drain-ms', '0'],
      ...['--demo', '--admin-port', '0'],
    ]))!;
    expect(app).toBeDefined();
    const printed = out.mock.calls.map((c) => String(c[0]));
    const url = printed[0].match(/^segtag server listening on (http:\/\/127\.0\.0\.1:\d+)$/)![1];
    expect(printed[1]).toBe(`demo: ${url}/`);
    const admin = printed[2].match(/^admin: (http:\/\/127\.0\.0\.1:\d+) \(\/metrics, \/livez, \/readyz\)$/)![1];
    expect(printed[3]).toBe('rate limit: 600 requests per 60 s per client IP');
    expect(printed[4]).toMatch(/^rules: .*segments\.json: 3 traits, 5 segments, ttl 30 days$/);
    expect(printed[5]).toBe(`store: sqlite:${db}`);
    expect((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(`${url}/`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).status).toBe(404);
    expect((await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);

    const closed = new Promise((r) => app.server.once('close', r));
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM'); // a repeat is harmless
    await closed;
    expect(app.server.listening).toBe(false);
    if (app.admin.server.listening) await new Promise((r) => app.admin.server.once('close', r));
    await expect(fetch(`${admin}/livez`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(process.listenerCount('SIGTERM')).toBe(0);
    expect(process.listenerCount('SIGHUP')).toBe(0);
    expect(out.mock.calls.filter((c) => c[0] == 'SIGTERM: draining for 0 ms, then shutting down')).toHaveLength(1);
  });

  it('--help prints usage; bad arguments, bad rules and an unreachable store set an exit code', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['--help'])).toBeUndefined();
    expect(out.mock.calls[0][0]).toMatch(/^usage:/);
    expect(process.exitCode).toBeUndefined();

    expect(await main(['--port', 'x'])).toBeUndefined();
    expect(process.exitCode).toBe(2);

    expect(await main(['--port', '0', '--store', 'memory', '--rules', '/nonexistent.json'])).toBeUndefined();
    expect(process.exitCode).toBe(1);
    expect(err.mock.calls.at(-1)![0]).toContain('cannot read the file');

    process.exitCode = undefined;
    expect(await main(['--port', '0', '--log-level', 'silent', '--store', 'redis://127.0.0.1:1'])).toBeUndefined();
    expect(process.exitCode).toBe(1);
    expect(err.mock.calls.at(-1)![0]).toContain('cannot connect to Redis');

    // A busy admin port stops the start, naming the flags.
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      process.exitCode = undefined;
      const port = String((busy.address() as AddressInfo).port);
      expect(
        await main(['--port', '0', '--log-level', 'silent', '--store', 'memory', '--admin-port', port]),
      ).toBeUndefined();
      expect(process.exitCode).toBe(1);
      expect(err.mock.calls.at(-1)![0]).toContain('admin listener (--admin-host, --admin-port; --no-admin for none)');
      expect(err.mock.calls.at(-1)![0]).toContain('EADDRINUSE');
    } finally {
      busy.close();
    }
  });
});
