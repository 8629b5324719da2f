/**
 * The public surface with the built CLI (server/dist/cli.mjs) and real sockets on loopback:
 * slow-header clients do not block normal calls and are cut by the headers timeout, the
 * connection cap closes extra connections at once, and --demo / the admin listener / --no-admin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { startCli, stopCli, type CliServer } from './support/cli-process';
import { call, newUid, pageEvent } from './support/server';

describe('slow clients and the connection cap (the built CLI, real sockets on loopback)', () => {
  const servers: CliServer[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const s of servers.splice(0)) await stopCli(s).catch(() => s.child.kill('SIGKILL'));
  });

  /** `count` connections that each send half a request line and stall; resolves once all are open. */
  async function stall(url: string, count: number) {
    const { port } = new URL(url);
    const opened = Array.from(
      { length: count },
      () =>
        new Promise<{ socket: Socket; closed: Promise<string> }>((resolve, reject) => {
          const socket = connect(Number(port), '127.0.0.1');
          sockets.push(socket);
          let received = '';
          const closed = new Promise<string>((r) => socket.on('close', () => r(received)));
          socket.on('data', (d) => (received += d.toString('latin1')));
          socket.on('error', () => {});
          socket.once('connect', () => {
            socket.write('POST /v1/r');
            resolve({ socket, closed });
          });
          socket.once('error', reject);
        }),
    );
    return Promise.all(opened);
  }

  /** One normal call on a connection of its own: its status, or the error code. */
  function normal(url: string): Promise<number | string> {
    return new Promise((resolve) => {
      const req = http.request(
        `${url}/v1/rtc`,
        { method: 'POST', agent: false, timeout: 5000, headers: { 'content-type': 'text/plain' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
          res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end(JSON.stringify(call(newUid(), [pageEvent({ c_section: 'sports' })])));
    });
  }

  it('200 slow-header connections: 50 normal calls all succeed; the slow ones get 408 and are closed within the timeout', async () => {
    const server = await startCli([
      '--store',
      'memory',
      '--log-level',
      'error',
      '--rate-limit',
      '0',
      '--headers-timeout-ms',
      '1500',
    ]);
    servers.push(server);
    const started = Date.now();
    const slow = await stall(server.url, 200);
    const results = await Promise.all(Array.from({ length: 50 }, () => normal(server.url)));
    expect(results.filter((r) => r == 200)).toHaveLength(50);
    // Every slow connection is answered 408 and closed by the server, within the headers timeout
    // plus node's check interval (375 ms here) and some slack.
    const answers = await Promise.race([
      Promise.all(slow.map((s) => s.closed)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow connections still open')), 6000)),
    ]);
    const closedAfter = Date.now() - started;
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408'))).toHaveLength(200);
    expect(closedAfter).toBeLessThan(5000);
  }, 30_000);

  it('--max-connections 20: 20 stalled connections fill it, more are closed at once; the headers timeout frees them', async () => {
    const server = await startCli([
      ...['--store', 'memory', '--log-level', 'error', '--rate-limit', '0'],
      ...['--max-connections', '20', '--headers-timeout-ms', '1500'],
    ]);
    servers.push(server);
    const started = Date.now();
    const slow = await stall(server.url, 20);
    const refused = await Promise.all(Array.from({ length: 5 }, () => normal(server.url)));
    expect(Date.now() - started).toBeLessThan(1500); // refused at once, not after the timeout
    expect(refused.filter((r) => r == 200)).toHaveLength(0);
    expect(refused.filter((r) => r == 'ECONNRESET' || r == 'socket hang up')).toHaveLength(5);
    // The server times the stalled ones out (408, closed): calls are answered again.
    const answers = await Promise.all(slow.map((s) => s.closed));
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408'))).toHaveLength(20);
    const after = await Promise.all(Array.from({ length: 10 }, () => normal(server.url)));
    expect(after.filter((r) => r == 200)).toHaveLength(10);
  }, 30_000);
});

describe('the CLI: --demo, the admin listener, --no-admin', () => {
  const servers: CliServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await stopCli(s).catch(() => s.child.kill('SIGKILL'));
  });
  const status = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;

  it('without --demo: the demo and the SDK files are 404; /metrics only on the admin URL it prints', async () => {
    const server = await startCli(['--store', 'memory', '--quiet']);
    servers.push(server);
    expect(server.output()).not.toMatch(/^demo: /m);
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const paths = ['/', '/segtag.min.js', '/segtag.mjs', '/stub.js', '/lib/vendor/js-cookie.mjs'];
    const codes = await Promise.all(paths.map((p) => status(server.url + p)));
    expect(codes).toEqual([404, 404, 404, 404, 404]);
    expect(await status(`${server.url}/metrics`)).toBe(404);
    expect(await status(`${server.adminUrl}/metrics`)).toBe(200);
    expect([await status(`${server.url}/livez`), await status(`${server.url}/readyz`)]).toEqual([200, 200]);
  }, 30_000);

  it('with --demo (SEGTAG_DEMO=true too): the demo page and the SDK files are served', async () => {
    for (const args of [['--demo'], []]) {
      const server = await startCli(['--store', 'memory', '--quiet', ...args], {
        env: args.length ? {} : { SEGTAG_DEMO: 'true' },
      });
      servers.push(server);
      expect(server.output()).toContain(`\ndemo: ${server.url}/\n`);
      const paths = ['/', '/segtag.min.js', '/segtag.mjs', '/stub.js', '/lib/vendor/js-cookie.mjs'];
      const codes = await Promise.all(paths.map((p) => status(server.url + p)));
      expect(codes).toEqual([200, 200, 200, 200, 200]);
      // js-cookie is bundled in the SDK's builds: its old import-map path is an unknown path.
      expect(await status(`${server.url}/node_modules/js-cookie/dist/js.cookie.mjs`)).toBe(404);
    }
  }, 30_000);

  it('--no-admin: no admin listener, and still no /metrics on the public port', async () => {
    const server = await startCli(['--store', 'memory', '--quiet', '--no-admin']);
    servers.push(server);
    expect(server.adminUrl).toBeUndefined();
    expect(server.output()).toContain('\nadmin: off (--no-admin): no /metrics\n');
    expect(await status(`${server.url}/metrics`)).toBe(404);
  }, 30_000);
});
