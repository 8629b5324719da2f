/**
 * Prometheus metrics (prom-client), one registry per app, served at GET /metrics on the admin
 * listener only (app.ts): never on the public port, never with CORS headers.
 * Labels stay low-cardinality: the route pattern (never the raw URL), method and status.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'segtag_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'segtag_http_request_duration_seconds',
      help: 'Time from request to response, by route pattern and method.',
      labelNames: ['route', 'method'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    events: new Counter({
      name: 'segtag_events_total',
      help: 'Events received: counted toward traits, or a duplicate of one already counted.',
      labelNames: ['result'] as const,
      registers,
    }),
    qualifications: new Counter({
      name: 'segtag_qualifications_total',
      help: 'Times a visitor entered a segment.',
      registers,
    }),
    disqualifications: new Counter({
      name: 'segtag_disqualifications_total',
      help: 'Times a visitor left a segment (seen on their next call).',
      registers,
    }),
    storeErrors: new Counter({
      name: 'segtag_store_errors_total',
      help: 'Calls answered 503 because the profile store failed.',
      registers,
    }),
    rulesReloads: new Counter({
      name: 'segtag_rules_reloads_total',
      help: 'Reloads of the rules file after a change: ok, or error (the old rules stayed).',
      labelNames: ['result'] as const,
      registers,
    }),
    rulesSegments: new Gauge({ name: 'segtag_rules_segments', help: 'Segments in the rules in force.', registers }),
    rulesTraits: new Gauge({ name: 'segtag_rules_traits', help: 'Traits in the rules in force.', registers }),
    s2sDeliveries: new Counter({
      name: 'segtag_s2s_deliveries_total',
      help: 'Real-time server-to-server messages a partner accepted, by partner.',
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sUsers: new Counter({
      name: 'segtag_s2s_users_delivered_total',
      help: 'Visitors in the real-time messages a partner accepted, by partner.',
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sFailures: new Counter({
      name: 'segtag_s2s_failures_total',
      help: 'Failed attempts to deliver a real-time message (retried or dead-lettered), by partner and reason: timeout, network, status.',
      labelNames: ['partner', 'reason'] as const,
      registers,
    }),
    s2sDeadLetters: new Counter({
      name: 'segtag_s2s_dead_letters_total',
      help: 'Real-time messages that failed every retry and were kept as dead letters, by partner.',
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sQueueDepth: new Gauge({
      name: 'segtag_s2s_queue_depth',
      help: 'Outbox rows a partner has not finished with yet.',
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sOldestAge: new Gauge({
      name: 'segtag_s2s_oldest_undelivered_seconds',
      help: 'Age of the oldest change a partner has not finished with (0: none).',
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sLeaseHeld: new Gauge({
      name: 'segtag_s2s_lease_held',
      help: "1 while this instance holds the partner's lease (delivers it), else 0; summed over instances, 1 per partner.",
      labelNames: ['partner'] as const,
      registers,
    }),
    s2sBatchFiles: new Counter({
      name: 'segtag_s2s_batch_files_total',
      help: 'Batch files written, by partner and result (ok, error).',
      labelNames: ['partner', 'result'] as const,
      registers,
    }),
    s2sBatchRows: new Counter({
      name: 'segtag_s2s_batch_rows_total',
      help: 'Rows written to batch files, by partner.',
      labelNames: ['partner'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts and times every answer of the public listener. */
export function countRequests(app: FastifyInstance, metrics: Metrics) {
  // A callback, not `async`: no promise per call.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    metrics.requests.inc({ route, method, status: reply.statusCode });
    metrics.latency.observe({ route, method }, reply.elapsedTime / 1000);
    done();
  });
}

/** Serves the registry at GET /metrics (on the admin listener). */
export function metricsRoute(app: FastifyInstance, metrics: Metrics) {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store');
    return metrics.registry.metrics();
  });
}
