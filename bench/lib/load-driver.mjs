/**
 * The load generator of part 5, run as a child process of its own (bench/lib/load.mjs forks it),
 * so the bench process's work never competes with it and the servers' CPU time is the servers'
 * alone. It answers IPC messages { id, op, ...options } with { id, result } or { id, error }:
 *
 *   op 'load'  one autocannon run against url's POST /v1/rtc: `seconds` or `amount`, `connections`,
 *              optional `overallRate`; `body` is a spec for bodyMaker (bench/lib/workload.mjs);
 *              `latencies: true` sends back every 2xx answer's latency (ms, sub-millisecond).
 *   op 'seed'  exactly `calls` calls, `concurrency` at a time, over keep-alive connections (node:http):
 *              for set-ups that need every call to arrive, e.g. 500 event ids per visitor.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { bodyMaker } from './workload.mjs';

const HEADERS = { 'content-type': 'text/plain;charset=UTF-8' };
const PATH = '/v1/rtc';

async function load({ url, seconds, amount, connections = 10, overallRate, body, latencies }) {
  const make = bodyMaker(body);
  const times = latencies ? [] : undefined;
  const cpu0 = process.cpuUsage();
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: PATH,
        headers: HEADERS,
        setupRequest(req) {
          req.body = make();
          return req;
        },
      },
    ],
    ...(overallRate && { overallRate }),
    ...(amount ? { amount } : { duration: seconds }),
  });
  if (times) {
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  }
  const r = await instance;
  const cpu = process.cpuUsage(cpu0);
  return {
    ok: r['2xx'],
    duration: r.duration,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    p99Autocannon: r.latency.p99,
    driverCpuSeconds: (cpu.user + cpu.system) / 1e6,
    latencies: times && Float64Array.from(times),
  };
}

async function seed({ url, calls, concurrency = 10, body }) {
  const make = bodyMaker(body);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(url);
  const post = (text) =>
    new Promise((resolve) => {
      const req = request(
        {
          agent,
          hostname,
          port,
          path: PATH,
          method: 'POST',
          headers: { ...HEADERS, 'content-length': Buffer.byteLength(text) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.on('error', () => resolve(0));
      req.end(text);
    });
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (sent < calls) {
      sent++;
      const status = await post(make());
      if (!status) errors++;
      else if (status >= 200 && status < 300) ok++;
      else non2xx++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  agent.destroy();
  return { ok, non2xx, errors, duration: (performance.now() - t0) / 1000 };
}

const OPS = { load, seed };

process.on('message', async ({ id, op, ...opts }) => {
  try {
    process.send({ id, result: await OPS[op](opts) });
  } catch (e) {
    process.send({ id, error: String(e?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
