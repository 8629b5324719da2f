import { afterEach, describe, expect, it, vi } from 'vitest';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, parseCliArgs, UsageError } from '../src/server/cli';
import { repoRoot } from '../src/server/repo-root';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('repoRoot', () => {
  it('is two levels above the module, or SEGTAG_ROOT', () => {
    expect(repoRoot({})).toBe(resolve(ROOT));
    expect(repoRoot({ SEGTAG_ROOT: '/srv/segtag' })).toBe('/srv/segtag');
  });
});

describe('parseCliArgs', () => {
  it('defaults', () => {
    expect(parseCliArgs([], '/repo')).toEqual({
      port: 8080,
      host: '127.0.0.1',
      rules: '/repo/examples/segments.json',
      corsOrigin: '*',
      quiet: false,
      help: false,
    });
  });

  it('options', () => {
    const parsed = parseCliArgs(
      ['--port', '0', '--host', '0.0.0.0', '--rules', 'r.json', '--cors-origin', 'https://a.example', '--cors-origin=https://b.example', '--quiet'],
      '/repo',
    );
    expect(parsed).toEqual({
      port: 0,
      host: '0.0.0.0',
      rules: resolve('r.json'), // relative to the working directory, like any CLI path
      corsOrigin: ['https://a.example', 'https://b.example'],
      quiet: true,
      help: false,
    });
    expect(parseCliArgs(['-h']).help).toBe(true);
  });

  it.each([
    [['--port', 'http'], '--port: not a port number: http'],
    [['--port', '65536'], '--port: not a port number: 65536'],
    [['--port=-1'], '--port: not a port number: -1'],
    [['--port'], "Option '--port <value>' argument missing"],
    [['--verbose'], "Unknown option '--verbose'"],
    [['serve'], "Unexpected argument 'serve'"],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});

describe('main', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('starts, prints where, serves, and shuts down on SIGTERM', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const app = (await main(['--port', '0', '--quiet', '--rules', join(ROOT, 'examples/segments.json')]))!;
    expect(app).toBeDefined();
    const printed = out.mock.calls.map((c) => String(c[0]));
    const url = printed[0].match(/^segtag server listening on (http:\/\/127\.0\.0\.1:\d+)$/)![1];
    expect(printed[1]).toBe(`demo: ${url}/`);
    expect(printed[2]).toMatch(/^rules: .*segments\.json: 3 traits, 4 segments, ttl 30 days$/);
    expect((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);

    const closed = new Promise((r) => app.server.once('close', r));
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM'); // a repeat is harmless
    await closed;
    expect(app.server.listening).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(0);
    expect(out.mock.calls.filter((c) => c[0] == 'SIGTERM: shutting down')).toHaveLength(1);
  });

  it('--help prints usage; bad arguments and bad rules set an exit code', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['--help'])).toBeUndefined();
    expect(out.mock.calls[0][0]).toMatch(/^usage:/);
    expect(process.exitCode).toBeUndefined();

    expect(await main(['--port', 'x'])).toBeUndefined();
    expect(process.exitCode).toBe(2);

    expect(await main(['--port', '0', '--rules', '/nonexistent.json'])).toBeUndefined();
    expect(process.exitCode).toBe(1);
    expect(err.mock.calls.at(-1)![0]).toContain('cannot read the file');
  });
});
