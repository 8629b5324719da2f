/** The command line of `segtag-server`: options, defaults and the help text. */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_TIMEOUTS, type RateLimitOptions, type TimeoutOptions } from '../app';
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
  demo: { type: 'boolean' },
  'admin-host': { type: 'string' },
  'admin-port': { type: 'string' },
  'no-admin': { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'rate-window': { type: 'string' },
  'trust-proxy': { type: 'string' },
  'max-connections': { type: 'string' },
  'headers-timeout-ms': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'keep-alive-timeout-ms': { type: 'string' },
  'connection-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'] & OptionSpecs;

export const USAGE = `usage: segtag-server [options]     (in the repository: npm start -- [options])
       segtag-server s2s run|retry PARTNER [options]   (server-to-server jobs; s2s --help)

Runs the segtag decisioning server: POST /v1/rtc (segtag SDK), GET|POST /event (Audience
Manager DCS format) and the probes GET /livez, GET /readyz (and /healthz) on the public port;
GET /metrics (Prometheus) and the probes on the admin port; a demo page at / with --demo.

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
                        several (default *: any page). A browser call from another origin gets
                        403 before anything is read or written (calls without Origin pass);
                        Retry-After is exposed; /event answers credentialed CORS (DIL),
                        /v1/rtc non-credentialed
  --demo                also serve the demo page at / and the SDK files it loads
                        (/segtag.min.js, /segtag.mjs, the npm modules, /stub.js); without it
                        those paths are 404 (npm start passes it)
  --admin-host HOST     interface of the admin listener: GET /metrics, /livez, /readyz, no
                        CORS (default 127.0.0.1: loopback only). /metrics is never on --port
  --admin-port N        port of the admin listener (default 9464; 0 picks a free one, printed)
  --no-admin            no admin listener (no /metrics at all)
  --rate-limit N        requests per client IP per --rate-window; more get 429 with
                        Retry-After (default 600; 0 turns it off). /livez, /readyz and /healthz
                        are exempt. With a Redis store every instance shares the counts
  --rate-window S       the rate limit's window in seconds (default 60)
  --trust-proxy VALUE   take the client IP from X-Forwarded-For, set by the load balancer:
                        true (any proxy), a number of hops, or the proxies' addresses/CIDRs,
                        comma-separated (default off: the peer address; behind a load balancer
                        every call would then share one rate limit)
  --max-connections N   open connections on --port at most; more are closed at once
                        (default 10000; 0: no cap)
  --headers-timeout-ms N  a client sends its request line and headers within this, or gets
                        408 and its connection closed (default 10000)
  --request-timeout-ms N  a client sends its whole request, body included, within this
                        (default 30000; 0: none)
  --keep-alive-timeout-ms N  an idle keep-alive connection closes after this (default 72000,
                        above a load balancer's usual 60 s idle timeout)
  --connection-timeout-ms N  a socket with no traffic at all for this long is closed
                        (default 0: none)
  --log-level LEVEL     JSON logs on stdout: fatal, error, warn, info (default), debug, trace, silent
  --quiet               the same as --log-level warn (no line per request)
  --no-s2s              do not deliver to server-to-server partners from this process (it
                        still exports their queue metrics); not needed for several instances
                        on one Redis, where one delivers each partner with failover
  --s2s-lease-ms N      how long a partner's delivery lease lasts unrenewed: with several
                        instances on one Redis, one delivers each partner and another takes
                        over within this (plus at most 1.25 s) when it dies (default 15000)
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

With --demo, the demo page and the SDK files it loads (/segtag.min.js, ...) come from the
installed segtag package. Drains and stops cleanly on SIGTERM or SIGINT (--drain-ms).`;

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
  /** Serve the demo page and the SDK files (--demo). */
  demo: boolean;
  /** The admin listener (/metrics and the probes); undefined: --no-admin. */
  admin?: { host: string; port: number };
  /** Requests per client IP per window; max 0: off. */
  rateLimit: RateLimitOptions;
  /** fastify's trustProxy: false, true, a hop count or addresses. */
  trustProxy: boolean | number | string;
  /** Open connections at most; 0: no cap. */
  maxConnections: number;
  timeouts: Required<TimeoutOptions>;
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
  const count = (name: keyof typeof values, fallback: number, min = 0) => {
    const text = values[name] as string | undefined;
    if (text === undefined) return fallback;
    if (!/^\d{1,9}$/.test(text) || Number(text) < min)
      throw new UsageError(`--${name}: expected a whole number${min ? ` (at least ${min})` : ''}, got ${text}`);
    return Number(text);
  };
  const adminPort = values['admin-port'] ?? '9464';
  if (!/^\d{1,5}$/.test(adminPort) || Number(adminPort) > 65535)
    throw new UsageError(`--admin-port: not a port number: ${adminPort}`);
  const timeouts = {
    headersMs: count('headers-timeout-ms', DEFAULT_TIMEOUTS.headersMs, 100),
    requestMs: count('request-timeout-ms', DEFAULT_TIMEOUTS.requestMs),
    keepAliveMs: count('keep-alive-timeout-ms', DEFAULT_TIMEOUTS.keepAliveMs, 1),
    connectionMs: count('connection-timeout-ms', DEFAULT_TIMEOUTS.connectionMs),
  };
  if (timeouts.requestMs > 0 && timeouts.headersMs > timeouts.requestMs)
    throw new UsageError(
      `--headers-timeout-ms (${timeouts.headersMs}) must not exceed --request-timeout-ms (${timeouts.requestMs})`,
    );
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
    demo: values.demo ?? false,
    admin: values['no-admin'] ? undefined : { host: values['admin-host'] ?? '127.0.0.1', port: Number(adminPort) },
    rateLimit: { max: count('rate-limit', 600), windowSeconds: count('rate-window', 60, 1) },
    trustProxy: trustProxy(values['trust-proxy']),
    maxConnections: count('max-connections', 10_000),
    timeouts,
    help: values.help ?? false,
  };
}

/** `--trust-proxy`: true/false, a hop count, or addresses and CIDRs (comma-separated). */
function trustProxy(text: string | undefined): boolean | number | string {
  if (text === undefined || /^(false|no|off)$/i.test(text)) return false;
  if (/^(true|yes|on)$/i.test(text)) return true;
  if (/^\d{1,3}$/.test(text)) return Number(text);
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length || list.some((a) => !/^[\da-fA-F.:]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(a)))
    throw new UsageError(`--trust-proxy: expected true, a number of hops or addresses/CIDRs, got ${text}`);
  return list.join(',');
}
