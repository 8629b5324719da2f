/**
 * The load generator's handle: autocannon runs in a child process of its own
 * (bench/lib/load-driver.mjs), never in the bench process, so what the bench does between runs
 * does not compete with it and the servers' CPU time is theirs alone. Runs against one URL, with
 * per-request bodies built in the child from a spec (bodyMaker in bench/lib/workload.mjs) and
 * sub-millisecond latencies.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.mjs';
import { median, quantile } from './stats.mjs';

/**
 * Starts the load generator process: { pid, hit, load, seed, stop }.
 *   hit(url, { seconds | amount, connections, overallRate, body, latencies? })
 *     one autocannon run; 2xx latencies are pushed into the `latencies` array when given (ms,
 *     from every response: autocannon's own histogram keeps whole milliseconds). Returns the 2xx
 *     count, the run's duration, errors and non-2xx answers, autocannon's p99 (for rate-limited
 *     runs corrected for coordinated omission) and the CPU seconds the generator itself used.
 *   load(url, { warmupSeconds, ...hit options })  a single measured run after an optional warm-up.
 *   seed(url, { calls, concurrency, body })  exactly `calls` calls (every one sent and answered).
 */
export async function startLoadGenerator() {
  const child = fork(join(BENCH_DIR, 'lib/load-driver.mjs'), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  let exited;
  const gone = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = code ?? signal))));
  gone.then(() => {
    for (const { reject } of pending.values()) reject(new Error(`the load generator exited (${exited})`));
    pending.clear();
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    gone.then(() => reject(new Error(`the load generator exited (${exited}) before it was ready`)));
  });
  child.on('message', ({ id, result, error }) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (error) p.reject(new Error(`load generator: ${error}`));
    else p.resolve(result);
  });
  const call = (op, opts) =>
    new Promise((resolve, reject) => {
      if (exited !== undefined) return reject(new Error(`the load generator exited (${exited})`));
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...opts });
    });

  async function hit(url, { latencies, ...opts }) {
    const r = await call('load', { url, ...opts, latencies: !!latencies });
    if (latencies) for (const ms of r.latencies) latencies.push(ms);
    delete r.latencies;
    return r;
  }

  return {
    pid: child.pid,
    hit,
    seed: (url, opts) => call('seed', { url, ...opts }),
    async load(url, { warmupSeconds = 0, ...opts }) {
      if (warmupSeconds) await hit(url, { ...opts, amount: undefined, seconds: warmupSeconds });
      const latencies = [];
      const run = await hit(url, { ...opts, latencies });
      return summarizeRuns([run], latencies);
    },
    async stop() {
      if (exited !== undefined) return;
      child.disconnect();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
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
