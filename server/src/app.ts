/**
 * The decisioning server (fastify):
 *   POST /v1/rtc     wire protocol v1 (docs/protocol.md)
 *   GET|POST /event  Audience Manager's DCS format (http/event.ts)
 *   GET /metrics     Prometheus metrics
 *   GET /livez       the process answers;  GET /readyz  store reachable, rules loaded, not draining
 *   GET /healthz     store health (before /readyz; kept)
 *   GET /            the demo publisher page, and the SDK files it loads (http/static.ts)
 */
import type http from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { createDecider } from './decide';
import { errorHandling, formatSchemaErrors } from './http/errors';
import { loggerOptions, type LoggerOptions } from './http/logging';
import { corsHandling, corsPolicy } from './http/cors';
import { eventRoutes } from './http/event';
import { createMetrics, metricsRoutes } from './http/metrics';
import { rtcRoutes } from './http/rtc';
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
  /** Serve the demo page (examples/demo.html in this package) at `/`. Default true. */
  demo?: boolean;
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

export interface App {
  fastify: FastifyInstance;
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

  const fastify = Fastify({
    ...loggerOptions(options.logger),
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    // While closing, calls on open connections are still answered (not 503): see drain().
    return503OnClosing: false,
    // Strict validation: no type coercion, no silently dropped fields, no defaults filled in.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allowUnionTypes: true } },
    schemaErrorFormatter: formatSchemaErrors,
  });

  // A slow client must send its headers within this (the whole request within requestTimeout).
  fastify.server.headersTimeout = 10_000;

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
    store ??= await openStore(storeSpec!, { now });
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
  metricsRoutes(fastify, metrics);
  corsHandling(fastify, corsPolicy(options.corsOrigin));

  const decide = createDecider({ rules, store: () => store!, metrics, now });
  void fastify.register(rtcRoutes(decide));
  void fastify.register(eventRoutes(decide, () => rules.engine.rules));
  const sdk = findSdkFiles();
  void fastify.register(
    staticRoutes({
      distDir: options.distDir === undefined ? sdk.distDir : resolve(options.distDir),
      jsCookie: sdk.jsCookie,
      demoPage: (options.demo ?? true) ? DEMO_PAGE : undefined,
    }),
  );

  let draining = false;
  // Set by close() after a drain: every answer ends its keep-alive connection.
  let closing = false;
  fastify.addHook('onRequest', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // Liveness: the process answers (never the store: a Redis outage must not restart every pod).
  fastify.get('/livez', async () => ({ ok: true }));
  // Readiness: not draining, rules loaded, store reachable.
  fastify.get('/readyz', async (_request, reply) => {
    if (draining) return reply.code(503).send({ ok: false, error: 'draining' });
    if (!store) return reply.code(503).send({ ok: false, error: 'starting' });
    try {
      await Promise.race([
        store.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new StoreUnavailableError('ping timed out')), 1000).unref()),
      ]);
      return { ok: true, rules: { segments: rules.engine.rules.segments.length } };
    } catch {
      return reply.code(503).send({ ok: false, error: 'profile store unavailable' });
    }
  });
  // Kept from before /livez and /readyz: store health, as it always answered.
  fastify.get('/healthz', async (_request, reply) => {
    try {
      await Promise.race([
        store!.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new StoreUnavailableError('ping timed out')), 1000).unref()),
      ]);
      return { ok: true };
    } catch {
      return reply.code(503).send({ ok: false, error: 'profile store unavailable' });
    }
  });

  return {
    fastify,
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
      await fastify.ready();
    },
    reloadRules: () => onReload(rules.reload()),
    drain() {
      draining = true;
    },
    async listen(port = 8080, host = '127.0.0.1') {
      await fastify.listen({ port, host });
      const { address, port: actual } = fastify.server.address() as AddressInfo;
      const shown = address.includes(':') ? `[${address}]` : address;
      return { url: `http://${shown}:${actual}` };
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
      }
    },
  };
}
