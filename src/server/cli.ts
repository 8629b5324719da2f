/**
 * `node dist/server/cli.mjs [options]` (what `npm start` runs): starts the decisioning server.
 * Bundled by rollup to dist/server/cli.mjs; paths resolve from the repository root (repo-root.ts).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createApp, type App } from './app';
import { repoRoot } from './repo-root';

export const USAGE = `usage: npm start -- [options]   (or: node dist/server/cli.mjs [options])
  --port N             port to listen on (default 8080; 0 picks a free port)
  --host HOST          interface to bind (default 127.0.0.1)
  --rules PATH         rules file (default examples/segments.json in the repository)
  --cors-origin ORIGIN page origin allowed to call (default *); repeat for several
  --quiet              no per-request log lines
  --help               show this help
Environment: SEGTAG_ROOT overrides the repository root (dist/, examples/, node_modules/).`;

export interface CliOptions {
  port: number;
  host: string;
  rules: string;
  corsOrigin: string | string[];
  quiet: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export function parseCliArgs(argv: string[], root = repoRoot()): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        rules: { type: 'string' },
        'cors-origin': { type: 'string', multiple: true },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const port = values.port ?? '8080';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`--port: not a port number: ${port}`);
  const origins = values['cors-origin'] ?? ['*'];
  return {
    port: Number(port),
    host: values.host ?? '127.0.0.1',
    rules: values.rules ? resolve(values.rules) : resolve(root, 'examples/segments.json'),
    corsOrigin: origins.includes('*') ? '*' : origins,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}

/**
 * Parses argv, starts the server, and stops it cleanly on SIGTERM/SIGINT.
 * Resolves with the running app, or undefined after --help or an error (process.exitCode is set).
 */
export async function main(argv = process.argv.slice(2)): Promise<App | undefined> {
  const root = repoRoot();
  let options: CliOptions;
  try {
    options = parseCliArgs(argv, root);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  let app: App;
  let url: string;
  try {
    app = createApp({
      rules: options.rules,
      rootDir: root,
      corsOrigin: options.corsOrigin,
      logger: options.quiet ? undefined : (line) => console.log(`${new Date().toISOString()} ${line}`),
    });
    ({ url } = await app.listen(options.port, options.host));
  } catch (e) {
    console.error(`segtag server: ${(e as Error).message}`);
    process.exitCode = 1;
    return;
  }

  const { traits, segments, ttlDays } = app.rules;
  console.log(`segtag server listening on ${url}`);
  console.log(`demo: ${url}/`);
  console.log(
    `rules: ${shortPath(options.rules)}: ` +
      `${traits.length} traits, ${segments.length} segments, ttl ${ttlDays} days`,
  );

  // Repeats are ignored: a terminal's Ctrl-C can reach us twice (directly and forwarded by
  // scripts/start.mjs), and close() is bounded anyway (open connections are cut after 2 s).
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    void app.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  app.server.once('close', () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  });
  return app;
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** True when this module is the script node was asked to run (not when a test imports it). */
function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) == realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void main();
