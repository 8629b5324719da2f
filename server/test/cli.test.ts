import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
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
      store: { kind: 'redis', url: 'redis://:s3cret@redis.internal:6379/2' },
    });
    // SEGTAG_REDIS_URL before REDIS_URL; a password in the URL is kept; --store wins over both.
    expect(parseCliArgs([], '/w', { SEGTAG_REDIS_URL: 'redis://u:p@h:1', REDIS_URL: 'redis://x:2' }).store).toEqual({
      kind: 'redis',
      url: 'redis://u:p@h:1',
    });
    expect(parseCliArgs(['--store', 'memory'], '/w', { REDIS_URL: 'redis://x:2' }).store).toEqual({ kind: 'memory' });
    expect(() => parseCliArgs([], '/w', { SEGTAG_QUIET: 'maybe' })).toThrow(
      new UsageError('SEGTAG_QUIET: expected true or false, got "maybe"'),
    );
    for (const name of ['SEGTAG_STORE', 'SEGTAG_S2S_LEASE_MS', 'SEGTAG_DRAIN_MS', 'SEGTAG_REDIS_URL', 'REDIS_PASSWORD'])
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
      help: false,
    });
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
    ]))!;
    expect(app).toBeDefined();
    const printed = out.mock.calls.map((c) => String(c[0]));
    const url = printed[0].match(/^segtag server listening on (http:\/\/127\.0\.0\.1:\d+)$/)![1];
    expect(printed[1]).toBe(`demo: ${url}/`);
    expect(printed[2]).toMatch(/^rules: .*segments\.json: 3 traits, 5 segments, ttl 30 days$/);
    expect(printed[3]).toBe(`store: sqlite:${db}`);
    expect((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);

    const closed = new Promise((r) => app.server.once('close', r));
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM'); // a repeat is harmless
    await closed;
    expect(app.server.listening).toBe(false);
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
  });
});
