/** The command line of `segtag-server`: options, defaults and the help text. */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXAMPLE_RULES } from '../paths';
import { parseStoreSpec, type StoreSpec } from '../stores/open';
import { envHelp, storeFromEnv, withEnv, type OptionSpecs } from './env';

/** The server's options (also read from SEGTAG_* variables: cli/env.ts). */
const SERVER_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  rules: { type: 'string' },
  store: { type: 'string' },
  'cors-origin': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  quiet: { type: 'boolean' },
  'no-s2s': { type: 'boolean' },
  's2s-lease-ms': { type: 'string' },
  'drain-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'] & OptionSpecs;

export const USAGE = `usage: segtag-server [options]     (in the repository: npm start -- [options])
       segtag-server s2s run|retry PARTNER [options]   (server-to-server jobs; s2s --help)

Runs the segtag decisioning server: POST /v1/rtc (segtag SDK), GET|POST /event (Audience
Manager DCS format), GET /metrics (Prometheus), GET /healthz, and a demo page at /.

  --rules PATH          rules file: traits and segments (docs/rules.md). Reloaded when it
                        changes (or on SIGHUP); a bad new file keeps the old rules.
                        Default: examples/segments.json in the package.
  --store SPEC          where visitor profiles live:
                          memory                 in this process only, lost on exit
                          sqlite:PATH            a SQLite file, kept across restarts (default
                                                 sqlite:.data/segtag.db, relative to the
                                                 working directory)
                          redis://HOST:PORT[/DB] a Redis server that several server processes
                                                 share (rediss:// for TLS; user:password@ ok)
  --port N              port to listen on (default 8080; 0 picks a free one, printed at start)
  --host HOST           interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --cors-origin ORIGIN  page origin allowed to call, e.g. https://www.example.com; repeat for
                        several (default *: any page). Other origins get 403; /event answers
                        credentialed CORS (DIL), /v1/rtc non-credentialed
  --log-level LEVEL     JSON logs on stdout: fatal, error, warn, info (default), debug, silent
  --quiet               the same as --log-level warn (no line per request)
  --no-s2s              do not deliver to server-to-server partners from this process
                        (it still exports the partners' queue metrics)
  --s2s-lease-ms N      how long a partner's delivery lease lasts unrenewed: with several
                        instances on one Redis, one delivers each partner and another takes
                        over within this (plus at most 1 s) when it dies (default 15000)
  --drain-ms N          on SIGTERM/SIGINT, /readyz answers 503 at once and calls are still
                        served for this long (keep-alive connections close after their
                        call), then the server stops (default 5000)
  --help                show this help

The server delivers to the server-to-server partners in the rules file while it runs
(docs/server-to-server.md).

Every option can also be set in the environment (the command line wins); true/false for
switches, commas between repeated values:
${envHelp(SERVER_OPTIONS)}
The store also from SEGTAG_REDIS_URL or REDIS_URL, and the Redis password from
SEGTAG_REDIS_PASSWORD or REDIS_PASSWORD: no secret has to be on the command line.

The demo page and the SDK files it loads (/segtag.min.js, ...) come from the installed segtag
package. Drains and stops cleanly on SIGTERM or SIGINT (--drain-ms).`;

export const DEFAULT_STORE = 'sqlite:.data/segtag.db';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface CliOptions {
  port: number;
  host: string;
  rules: string;
  store: StoreSpec;
  corsOrigin: string | string[];
  logLevel: string;
  /** Deliver to server-to-server partners (false: --no-s2s). */
  s2s: boolean;
  /** How long a partner's delivery lease lasts unrenewed (ms); undefined: the default. */
  s2sLeaseMs?: number;
  /** How long to keep serving after SIGTERM/SIGINT with readiness off (ms). */
  drainMs: number;
  help: boolean;
}

export class UsageError extends Error {}

/** `parseArgs` whose complaints (unknown option, missing value) are UsageErrors. */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Paths on the command line are relative to `cwd`; without --rules, the package's example rules. */
export function parseCliArgs(argv: string[], cwd = process.cwd(), env = process.env): CliOptions {
  const parsed = parseArgsOrUsage({ args: argv, strict: true, options: SERVER_OPTIONS }).values;
  let values: typeof parsed;
  try {
    values = withEnv(parsed, SERVER_OPTIONS, env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const port = values.port ?? '8080';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`--port: not a port number: ${port}`);
  let store: StoreSpec;
  try {
    store = parseStoreSpec(storeFromEnv(values.store, env) ?? DEFAULT_STORE, cwd);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const logLevel = values['log-level'] ?? (values.quiet ? 'warn' : 'info');
  if (!LEVELS.includes(logLevel))
    throw new UsageError(`--log-level: expected one of ${LEVELS.join(', ')}, got ${logLevel}`);
  const origins = values['cors-origin'] ?? ['*'];
  const drainMs = values['drain-ms'] ?? '5000';
  if (!/^\d{1,9}$/.test(drainMs)) throw new UsageError(`--drain-ms: expected milliseconds, got ${drainMs}`);
  const leaseMs = values['s2s-lease-ms'];
  if (leaseMs !== undefined && (!/^\d{1,9}$/.test(leaseMs) || Number(leaseMs) < 100))
    throw new UsageError(`--s2s-lease-ms: expected milliseconds (at least 100), got ${leaseMs}`);
  return {
    port: Number(port),
    host: values.host ?? '127.0.0.1',
    rules: values.rules ? resolve(cwd, values.rules) : EXAMPLE_RULES,
    store,
    corsOrigin: origins.includes('*') ? '*' : origins,
    logLevel,
    s2s: !values['no-s2s'],
    s2sLeaseMs: leaseMs === undefined ? undefined : Number(leaseMs),
    drainMs: Number(drainMs),
    help: values.help ?? false,
  };
}
