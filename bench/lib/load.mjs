/** autocannon runs against one URL, with per-request bodies and sub-millisecond latencies. */
import autocannon from 'autocannon';
import { median, quantile } from './stats.mjs';

const HEADERS = { 'content-type': 'text/plain;charset=UTF-8' };

/**
 * `body()` builds each request's body. Returns 2xx req/s, latency p50/p99 in ms from every
 * response (autocannon's own histogram keeps whole milliseconds; its p99 is kept too, which for
 * rate-limited runs is corrected for coordinated omission), errors and non-2xx answers.
 */
export async function load(url, { seconds, connections = 10, pipelining = 1, overallRate, amount, body, warmupSeconds = 0 }) {
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
  const base = { url, connections, pipelining, requests, timeout: 10, ...(overallRate && { overallRate }) };
  if (warmupSeconds) await autocannon({ ...base, duration: warmupSeconds });
  const latencies = [];
  const instance = autocannon({ ...base, ...(amount ? { amount } : { duration: seconds }) });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const ok = r['2xx'];
  return {
    reqPerSec: ok / r.duration,
    duration: r.duration,
    ok,
    p50: median(latencies),
    p99: quantile(latencies, 0.99),
    p99Autocannon: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}
