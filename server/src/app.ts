/**
 * The decisioning server (fastify). The public listener (`listen`):
 *   POST /v1/rtc     wire protocol v1 (docs/protocol.md)
 *   GET|POST /event  Audience Manager's DCS format (http/event.ts)
 *   GET /livez       the process answers;  GET /readyz  store reachable, rules loaded, not draining
 *   GET /healthz     store health (before /readyz; kept)
 *   GET /            with `demo`: the demo publisher page, and the SDK files it loads (http/static.ts)
 * Calls are rate-limited per client IP (`rateLimit`, @fastify/rate-limit; the probes are exempt),
 * connections capped (`maxConnections`) and slow clients cut (`timeouts`).
 * The admin listener (`listenAdmin`, loopback by default), a separate fastify instance with no CORS:
 *   GET /metrics     Prometheus metrics (never on the public listener)
 *   GET /livez, GET /readyz  the same probes
 */
import type http from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import { createDecider } from './decide';
import { errorHandling, formatSchemaErrors, httpError } from './http/errors';
import { loggerOptions, type LoggerOptions } from './http/logging';
import { corsHandling, corsPolicy } from './http/cors';
import { eventRoutes } from './http/event';
import { countRequests, createMetrics, metricsRoute } from './http/metrics';
import { MAX_RTC_BODY_BYTES, rtcRoutes } from './http/rtc';
import { staticRoutes } from './http/static';
import { DEMO_PAGE, findSdkFiles } from './paths';
import { createS2s, type S2s } from './s2s/service';
import { createRulesSource, type ReloadResult } from './rules/source';
import type { Rules } from './rules/types';
import { openStore, parseStoreSpec } from './stores/open';
import { StoreUnavailableError, type ProfileStore } from './stores/types';

export { RTC_PATH } from './http/rtc';
export type { LoggerOptions } from './http/logging';

export interface AppOptions {
  /** A rules file path (watched for changes), or the parsed JSON of one. A bad file throws RulesError here. */
  rules: string | object;
  /**
   * A store the caller opened (and closes), or a spec the app opens when it starts and closes
   * with `close()`: `memory` (default), `sqlite:PATH`, `redis://HOST:PORT`.
   */
  store?: ProfileStore | string;
  /**
   * Page origins allowed to call (http/cors.ts); `'*'` (default) allows any page. A request from
   * another origin gets 403; `/event` answers credentialed CORS, the rest non-credentialed.
   */
  corsOrigin?: string | string[];
  /** The SDK build output. Default: the dist/ folder of the `segtag` package, found as `import 'segtag'` would find it. */
  distDir?: string;
  /**
   * Serve the demo page (examples/demo.html in this package) at `/` and the SDK files it loads
   * (`/segtag.min.js`, `/segtag.mjs`, the other npm modules, `/stub.js`); without it those paths
   * are 404. Default true here; the CLI serves them only with `--demo`.
   */
  demo?: boolean;
  /** Requests per client IP per window (@fastify/rate-limit); the probes are exempt. Default: none. */
  rateLimit?: RateLimitOptions | false;
  /** At most this many open connections on the public listener; more are closed at once. Default: no cap. */
  maxConnections?: number;
  /** Limits on slow clients and idle connections (both listeners). */
  timeouts?: TimeoutOptions;
  /**
   * Take the client IP (for rate limits and logs) from `X-Forwarded-For`: fastify's `trustProxy`
   * (true: any proxy; a number: that many hops; addresses or CIDRs, comma-separated). Default false.
   */
  trustProxy?: boolean | number | string;
  /** JSON logs (pino): false or absent for none, true for info to stdout, or options. */
  logger?: boolean | LoggerOptions;
  /** How often to check the rules file for changes (ms); 0 never. Default 1000. */
  watchRulesMs?: number;
  /** The clock (tests move it). Default Date.now. */
  now?: () => number;
  /**
   * Run the server-to-server scheduler (docs/server-to-server.md) when the rules have
   * partners. Default true; false when another process delivers for the same store.
   */
  s2s?: boolean;
  /** How often the scheduler looks for due work (ms). Default 250. */
  s2sTickMs?: number;
  /** How long a partner's delivery lease lasts without renewal (ms). Default 15000 (s2s/service.ts). */
  s2sLeaseMs?: number;
}

export interface RateLimitOptions {
  /** Requests per client IP per window; 0 turns the limit off. */
  max: number;
  /** The window (seconds). */
  windowSeconds: number;
}

export interface TimeoutOptions {
  /** A client sends its request line and headers within this (ms; node's headersTimeout). Default 10000. */
  headersMs?: number;
  /** A client sends its whole request, body included, within this (ms; 0: none). Default 30000. */
  requestMs?: number;
  /** An idle keep-alive connection is closed after this (ms). Default 72000 (fastify's: above a load balancer's 60 s). */
  keepAliveMs?: number;
  /** A socket with no traffic at all for this long is closed (ms; 0: none). Default 0. */
  connectionMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<TimeoutOptions> = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 72_000,
  connectionMs: 0,
};

export interface App {
  /** The public listener. */
  fastify: FastifyInstance;
  /** The admin listener: /metrics, /livez, /readyz (ready with `ready()`; listening after `listenAdmin`). */
  admin: FastifyInstance;
  server: http.Server;
  /** The rules in force (they change when the file does). */
  readonly rules: Rules;
  /** The profile store, once the app has started. */
  readonly store: ProfileStore | undefined;
  /** The server-to-server scheduler, once the app has started (absent with a store without an outbox). */
  readonly s2s: S2s | undefined;
  /** Reads the rules file again now (as a change would); a bad file keeps the rules in force. */
  reloadRules(): ReloadResult;
  /** Opens the store and loads the routes; `listen` does it too. */
  ready(): Promise<void>;
  /** Port 0 picks a free port; resolves with the base URL, e.g. `http://127.0.0.1:8080`. */
  listen(port?: number, host?: string): Promise<{ url: string }>;
  /** The admin listener (default 127.0.0.1:9464; port 0 picks a free one); resolves with its base URL. */
  listenAdmin(port?: number, host?: string): Promise<{ url: string }>;
  /** Stops accepting calls, lets open ones finish (idle connections close at once), closes an owned store. */
  close(): Promise<void>;
  /**
   * Starts draining: `/readyz` answers 503 at once (the load balancer stops sending), calls are
   * still served. `close()` afterwards stops accepting connections, answers the calls still on
   * open ones with `Connection: close` so each ends after its call, then closes what is idle.
   */
  drain(): void;
}

export function createApp(options: AppOptions): App {
  const now = options.now ?? Date.now;
  const rules = createRulesSource(options.rules);
  const metrics = createMetrics();
  const ownsStore = typeof options.store != 'object';
  const storeSpec = ownsStore ? parseStoreSpec((options.store as string | undefined) ?? 'memory') : undefined;
  let store = ownsStore ? undefined : (options.store as ProfileStore);
  let s2s: S2s | undefined;
  const opened = () => store!;

  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  // Node checks the headers and request timeouts this often (its default, 30 s, would let a
  // slow client hold its connection for up to 40 s with a 10 s headers timeout).
  const checkMs = Math.min(
    1000,
    ...[timeouts.headersMs, timeouts.requestMs].filter((ms) => ms > 0).map((ms) => Math.max(50, ms / 4)),
  );
  const serverTimeouts = {
    connectionTimeout: timeouts.connectionMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: checkMs,
    },
  } satisfies FastifyHttpOptions<http.Server>;

  const fastify = Fastify({
    ...loggerOptions(options.logger),
    ...serverTimeouts,
    bodyLimit: MAX_RTC_BODY_BYTES,
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    // While closing, calls on open connections are still answered (not 503): see drain().
    return503OnClosing: false,
    // Strict validation: no type coercion, no silently dropped fields, no defaults filled in.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allowUnionTypes: true } },
    schemaErrorFormatter: formatSchemaErrors,
  });

  if (options.maxConnections) fastify.server.maxConnections = options.maxConnections;

  // The admin listener: no CORS, no rate limit, no request log; only what operators scrape and probe.
  const admin = Fastify({ logger: false, ...serverTimeouts });

  const setRuleGauges = () => {
    metrics.rulesSegments.set(rules.engine.rules.segments.length);
    metrics.rulesTraits.set(rules.engine.rules.traits.length);
  };
  setRuleGauges();

  const onReload = (result: ReloadResult) => {
    metrics.rulesReloads.inc({ result: result.ok ? 'ok' : 'error' });
    if (result.ok) {
      setRuleGauges();
      const { traits, segments } = rules.engine.rules;
      fastify.log.info({ file: rules.path }, `rules reloaded: ${traits.length} traits, ${segments.length} segments`);
    } else {
      fastify.log.error(
        { file: rules.path, problems: result.problems },
        'rules file rejected; the rules loaded before stay in force',
      );
    }
    return result;
  };

  fastify.addHook('onReady', async () => {
    // Opened by the first plugin (below).
    const store = opened();
    if (store.outbox) {
      s2s = createS2s({
        outbox: store.outbox,
        partners: () => rules.engine.rules.partners,
        metrics,
        now,
        log: fastify.log,
        tickMs: options.s2sTickMs,
        // Without delivery the scheduler still measures the queues (every instance exports them).
        deliver: options.s2s ?? true,
        leaseMs: options.s2sLeaseMs,
        singleInstance: store.kind == 'sqlite',
      });
      await s2s.start();
      if (rules.engine.rules.partners.length && store.checkSettings)
        for (const problem of await store.checkSettings()) fastify.log.warn(`WARNING: ${problem}`);
    } else if (rules.engine.rules.partners.length) {
      fastify.log.warn(`the ${store.kind} store keeps no outbox: server-to-server partners are not delivered to`);
    }
    const watchMs = options.watchRulesMs ?? 1000;
    if (watchMs > 0) rules.watch(watchMs, onReload);
  });
  fastify.addHook('onClose', async () => {
    rules.stop();
    await s2s?.stop();
    if (ownsStore) await store?.close();
  });

  errorHandling(fastify, metrics);
  countRequests(fastify, metrics);
  corsHandling(fastify, corsPolicy(options.corsOrigin));

  let draining = false;
  // Set by close() after a drain: every answer ends its keep-alive connection.
  let closing = false;
  // Hooks on every call take a callback, not `async`: no promise per call.
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (closing) reply.header('connection', 'close');
    done();
  });

  // The store opens first: the rate limiter keeps its counts in it when it is Redis.
  void fastify.register(async () => {
    store ??= await openStore(storeSpec!, { now });
  });
  if (options.rateLimit && options.rateLimit.max > 0) {
    const { max, windowSeconds } = options.rateLimit;
    // Options as a function: read when the plugin loads, after the store has opened.
    void fastify.register(rateLimit, () => ({
      global: true,
      max,
      timeWindow: windowSeconds * 1000,
      // With Redis, one count per IP for every instance (same connection, the store's key prefix).
      ...(store?.redis && { redis: store.redis.client, nameSpace: `${store.redis.prefix}ratelimit:` }),
      // A Redis outage must not fail every call here: the calls themselves answer 503 then.
      skipOnError: true,
      // 429 with Retry-After (set by the plugin), answered as every error is: {"error": ...}.
      errorResponseBuilder: (_request, context) => httpError(context.statusCode, 'too many requests'),
    }));
  }

  const ping = () =>
    Promise.race([
      store!.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new StoreUnavailableError('ping timed out')), 1000).unref()),
    ]);
  // Liveness: the process answers (never the store: a Redis outage must not restart every pod).
  const livez = async () => ({ ok: true });
  // Readiness: not draining, rules loaded, store reachable.
  const readyz = async (_request: unknown, reply: FastifyReply) => {
    if (draining) return reply.code(503).send({ ok: false, error: 'draining' });
    if (!store) return reply.code(503).send({ ok: false, error: 'starting' });
    try {
      await ping();
      return { ok: true, rules: { segments: rules.engine.rules.segments.length } };
    } catch {
      return reply.code(503).send({ ok: false, error: 'profile store unavailable' });
    }
  };

  const decide = createDecider({ rules, store: () => store!, metrics, now });
  // Routes after the rate limiter (it hooks each route as it is added).
  void fastify.register(async (routes) => {
    void routes.register(rtcRoutes(decide));
    void routes.register(eventRoutes(decide, () => rules.engine.rules, now));
    if (options.demo ?? true) {
      const sdk = findSdkFiles();
      void routes.register(
        staticRoutes({
          distDir: options.distDir === undefined ? sdk.distDir : resolve(options.distDir),
          demoPage: DEMO_PAGE,
        }),
      );
    }
    // The probes are never rate-limited: load balancers call them from a few addresses.
    const probe = { config: { rateLimit: false } } as const;
    routes.get('/livez', probe, livez);
    routes.get('/readyz', probe, readyz);
    // Kept from before /livez and /readyz: store health, as it always answered.
    routes.get('/healthz', probe, async (_request, reply) => {
      try {
        await ping();
        return { ok: true };
      } catch {
        return reply.code(503).send({ ok: false, error: 'profile store unavailable' });
      }
    });
  });

  admin.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  metricsRoute(admin, metrics);
  admin.get('/livez', livez);
  admin.get('/readyz', readyz);

  const urlOf = (instance: FastifyInstance) => {
    const { address, port } = instance.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  };

  return {
    fastify,
    admin,
    server: fastify.server,
    get rules() {
      return rules.engine.rules;
    },
    get store() {
      return store;
    },
    get s2s() {
      return s2s;
    },
    async ready() {
      await Promise.all([fastify.ready(), admin.ready()]);
    },
    reloadRules: () => onReload(rules.reload()),
    drain() {
      draining = true;
    },
    async listen(port = 8080, host = '127.0.0.1') {
      await fastify.listen({ port, host });
      return { url: urlOf(fastify) };
    },
    async listenAdmin(port = 9464, host = '127.0.0.1') {
      await admin.listen({ port, host });
      return { url: urlOf(admin) };
    },
    async close() {
      if (draining && fastify.server.listening) {
        // After a drain: stop accepting first (a new connection is refused, never reset), without
        // touching open ones: each ends after its next call, answered with Connection: close.
        // A second at most, then idle connections are closed as below.
        closing = true;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          t.unref();
          NetServer.prototype.close.call(fastify.server, () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      // Open requests get a grace period; then remaining connections are cut.
      const cut = setTimeout(() => fastify.server.closeAllConnections(), 2000);
      cut.unref();
      try {
        await fastify.close();
      } finally {
        clearTimeout(cut);
        // The admin listener last: /readyz answered 503 there too while draining.
        admin.server.closeIdleConnections();
        await admin.close();
      }
    },
  };
}
