/**
 * A real, throwaway `redis-server` on a free loopback port, started and stopped by the tests
 * themselves (no persistence: `--save '' --appendonly no`; with `persistDir`, an append-only
 * file in that directory, so a restart keeps the data). `.ci/run` installs the Debian package
 * `redis-server` when it is missing; set REDIS_SERVER to use another binary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const BINARY =
  process.env.REDIS_SERVER ??
  ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync) ??
  'redis-server';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty unless started with `persistDir`). */
  start(): Promise<void>;
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startRedis({ persistDir }: { persistDir?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...(persistDir
        ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', persistDir]
        : ['--appendonly', 'no']),
      '--protected-mode',
      'yes',
    ];
    const proc = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    let exited: Error | undefined;
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    proc.on(
      'error',
      (e) => (exited = new Error(`cannot run ${BINARY} (${e.message}); install it: apt-get install -y redis-server`)),
    );
    proc.on('exit', (code) => (exited ??= new Error(`redis-server exited with ${code}:\n${output}`)));
    // Its log is block-buffered when piped: ask the port instead.
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (exited) throw exited;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer within 10 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = () =>
    new Promise<void>((resolve) => {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    });

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}

/** True when a Redis server on the port answers PING. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
