/**
 * `segtag-server`: parses the command line, starts the server, prints where it listens and what
 * it loaded, and stops cleanly on SIGTERM/SIGINT (SIGHUP reloads the rules file).
 */
import { isAbsolute, relative } from 'node:path';
import { createApp, type App } from '../app';
import { describeStore } from '../stores/open';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './args';
import { s2sMain } from './s2s';

/** Resolves with the running app, or undefined after --help or an error (process.exitCode is set). */
export async function main(argv = process.argv.slice(2)): Promise<App | undefined> {
  if (argv[0] == 's2s') return void (await s2sMain(argv.slice(1)));
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`segtag-server: ${e.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  let app: App | undefined;
  let url: string;
  let adminUrl: string | undefined;
  try {
    app = createApp({
      rules: options.rules,
      store: specText(options),
      corsOrigin: options.corsOrigin,
      logger: { level: options.logLevel },
      s2s: options.s2s,
      s2sLeaseMs: options.s2sLeaseMs,
      demo: options.demo,
      rateLimit: options.rateLimit,
      trustProxy: options.trustProxy,
      maxConnections: options.maxConnections,
      timeouts: options.timeouts,
    });
    ({ url } = await app.listen(options.port, options.host));
    if (options.admin) {
      const { host, port } = options.admin;
      try {
        ({ url: adminUrl } = await app.listenAdmin(port, host));
      } catch (e) {
        throw new Error(`admin listener (--admin-host, --admin-port; --no-admin for none): ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
  } catch (e) {
    console.error(`segtag-server: ${(e as Error).message}`);
    await app?.close().catch(() => {});
    process.exitCode = 1;
    return;
  }

  const { traits, segments, ttlDays } = app.rules;
  console.log(`segtag server listening on ${url}`);
  if (options.demo) console.log(`demo: ${url}/`);
  console.log(adminUrl ? `admin: ${adminUrl} (/metrics, /livez, /readyz)` : 'admin: off (--no-admin): no /metrics');
  const { max, windowSeconds } = options.rateLimit;
  console.log(`rate limit: ${max ? `${max} requests per ${windowSeconds} s per client IP` : 'off'}`);
  console.log(
    `rules: ${shortPath(options.rules)}: ${traits.length} traits, ${segments.length} segments, ttl ${ttlDays} days`,
  );
  console.log(`store: ${describeStore(options.store)}`);

  const running = app;
  // Repeats are ignored: a terminal's Ctrl-C can reach us twice (directly and forwarded by
  // scripts/start.mjs), and close() is bounded anyway (open connections are cut after 2 s).
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Readiness off at once; calls keep being served while the load balancer notices.
    console.log(`${signal}: draining for ${options.drainMs} ms, then shutting down`);
    running.drain();
    const closed = new Promise<void>((r) => setTimeout(r, options.drainMs)).then(() => running.close());
    closed.then(
      () => console.log('stopped'),
      (e) => {
        console.error(`segtag-server: error while stopping: ${(e as Error).message}`);
        process.exitCode = 1;
      },
    );
  };
  const reload = () => {
    const result = createReload(running);
    console.log(result);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  running.server.once('close', () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
  });
  return running;
}

/** The store spec as createApp takes it. */
function specText({ store }: CliOptions): string {
  return store.kind == 'memory' ? 'memory' : store.kind == 'sqlite' ? `sqlite:${store.path}` : store.url;
}

function createReload(app: App): string {
  const result = app.reloadRules();
  return result.ok
    ? `SIGHUP: rules reloaded: ${app.rules.traits.length} traits, ${app.rules.segments.length} segments`
    : `SIGHUP: rules file rejected, the rules loaded before stay in force:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`;
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
