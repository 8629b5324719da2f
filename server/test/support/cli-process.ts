/**
 * `segtag-server` (the built server/dist/cli.mjs) as a real child process, for the e2e and
 * the kill/restart tests. No test-runner imports: Playwright and vitest both load it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI in this package. */
export const CLI = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));

export interface CliServer {
  url: string;
  /** The admin listener's base URL (/metrics, /livez, /readyz); undefined with --no-admin. */
  adminUrl?: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
}

/**
 * Starts the CLI on a free port with `args` and resolves once it printed its URL and store;
 * rejects (and kills it) if it exits first or takes more than 15 s. `cli`: another copy of it
 * (an installed layout); `cwd`: its working directory; `env`: variables on top of this process's.
 */
export function startCli(
  args: string[],
  { cli = CLI, cwd, env: extra }: { cli?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<CliServer> {
  if (!existsSync(cli))
    return Promise.reject(new Error(`${cli} is missing: build it first (npm run build -w segtag-server)`));
  return new Promise((resolve, reject) => {
    // A short drain unless the test sets one: SIGTERM then stops within the stopCli bound. The
    // admin listener on a free port (its default, 9464, would collide between processes).
    const env = { SEGTAG_DRAIN_MS: '200', SEGTAG_ADMIN_PORT: '0', ...process.env, ...extra };
    const child = spawn(process.execPath, [cli, '--port', '0', ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within 15 s:\n${output}`));
    }, 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const url = output.match(/^segtag server listening on (http:\/\/127\.0\.0\.1:\d+)$/m)?.[1];
      if (url && output.includes('\nstore: ')) {
        clearTimeout(timer);
        const adminUrl = output.match(/^admin: (http:\/\/[^ ]+) /m)?.[1];
        resolve({ url, adminUrl, child, output: () => output });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before starting:\n${output}`));
    });
  });
}

/** Resolves once the process has exited (at once if it already has). */
export const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : void child.once('exit', () => r()),
  );

/** SIGTERM; resolves with the exit code; rejects (and kills it) if it is still running after 5 s. */
export function stopCli(server: CliServer): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (server.child.exitCode !== null) return resolve(server.child.exitCode);
    const timer = setTimeout(() => {
      server.child.kill('SIGKILL');
      reject(new Error(`no exit within 5 s of SIGTERM:\n${server.output()}`));
    }, 5000);
    server.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    server.child.kill('SIGTERM');
  });
}

/**
 * Instances of one deployment, for the multi-process tests: writes `rules` to `dir/rules.json`
 * and answers a function that starts one more CLI on it with `args` (for one client address,
 * without the rate limit); each is killed (SIGKILL) at `cleanup` if it still runs.
 */
export function instanceLauncher(dir: string, rules: object, args: string[], cleanup: (() => unknown)[]) {
  const rulesPath = join(dir, 'rules.json');
  writeFileSync(rulesPath, JSON.stringify(rules));
  return async () => {
    const s = await startCli(['--rules', rulesPath, ...args, '--rate-limit', '0']);
    cleanup.push(() => s.child.exitCode === null && s.child.signalCode === null && s.child.kill('SIGKILL'));
    return s;
  };
}
