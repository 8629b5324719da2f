/** autocannon runs against one URL, with per-request bodies and sub-millisecond latencies. */
import autocannon from 'autocannon';
import { median, quantile } from './stats.mjs';

const HEADERS = { 'content-type': 'text/plain;charset=UTF-8' };

/**
 * One autocannon run; `body()` builds each request's body. Latencies of 2xx answers are pushed
 * into `latencies` (ms, from every response: autocannon's own histogram keeps whole
 * milliseconds). Returns the 2xx count, the run's duration, errors and non-2xx answers, and
 * autocannon's p99 (for rate-limited runs corrected for coordinated omission).
 */
export async function hit(url, { seconds, connections = 10, pipelining = 1, overallRate, amount, body, latencies }) {
  const requests = [
    {
      method: 'POST',
      path: '/v1/rtc',
      headers: HEADERS,
      setupRequest(req) {
        req.body = body();
        return req;
      },
    },
  ];
  const instance = autocannon({
    url,
    connections,
    pipelining,
    requests,
    timeout: 10,
    ...(overallRate && { overallRate }),
    ...(amount ? { amount } : { duration: seconds }),
  });
  if (latencies) {
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  }
  const r = await instance;
  return {
    ok: r['2xx'],
    duration: r.duration,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    p99Autocannon: r.latency.p99,
  };
}

/** Adds up runs of one case (e.g. interleaved slices) into req/s and latency percentiles. */
export function summarizeRuns(runs, latencies) {
  const ok = runs.reduce((s, r) => s + r.ok, 0);
  const duration = runs.reduce((s, r) => s + r.duration, 0);
  return {
    reqPerSec: ok / duration,
    requests: ok,
    seconds: duration,
    p50: median(latencies),
    p99: quantile(latencies, 0.99),
    p99Autocannon: Math.max(...runs.map((r) => r.p99Autocannon)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
  };
}

/** A single measured run after an optional warm-up. */
export async function load(url, { warmupSeconds = 0, ...opts }) {
  if (warmupSeconds) await hit(url, { ...opts, amount: undefined, seconds: warmupSeconds });
  const latencies = [];
  const run = await hit(url, { ...opts, latencies });
  return summarizeRuns([run], latencies);
}
