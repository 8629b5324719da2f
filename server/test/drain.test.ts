/**
 * Graceful drain of the built CLI: SIGTERM while 50 keep-alive clients keep calling. Readiness
 * turns 503 at once, calls keep being answered for the drain period, connections close after
 * their call, then the process exits 0. No call on an open connection is reset; no 5xx except
 * the readiness probe.
 */
import { afterEach, expect, it } from 'vitest';
import http from 'node:http';
import { startCli } from './support/cli-process';
import { call, newUid, pageEvent } from './support/server';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** One POST on `agent`; resolves with the status and whether the server asked to close, or the error code. */
function post(url: string, agent: http.Agent, body: string) {
  return new Promise<{ status?: number; close?: boolean; error?: string }>((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, close: res.headers.connection == 'close' }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

it('SIGTERM under 50 keep-alive clients: readiness 503 at once, zero resets, zero 5xx, exit 0', async () => {
  const DRAIN_MS = 1500;
  // No rate limit: the 50 clients share one address.
  const server = await startCli([
    ...['--store', 'memory', '--log-level', 'error', '--drain-ms', String(DRAIN_MS), '--rate-limit', '0'],
  ]);
  cleanup.push(() => server.child.exitCode === null && server.child.kill('SIGKILL'));
  const url = `${server.url}/v1/rtc`;
  const exit = new Promise<number | null>((r) => server.child.once('exit', r));

  let signalledAt = 0;
  type Result = { status?: number; close?: boolean; error?: string; afterSignal: boolean };
  const results: Result[] = [];
  const lastServed: Result[] = [];
  const clients = Array.from({ length: 50 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const uid = newUid();
    // Each client calls back to back, on its kept-alive connection, until the server no longer accepts one.
    let last: Result | undefined;
    for (;;) {
      const r = { ...(await post(url, agent, JSON.stringify(call(uid, [pageEvent()])))), afterSignal: signalledAt > 0 };
      results.push(r);
      if (r.error) break;
      last = r;
    }
    lastServed.push(last!);
    agent.destroy();
  });

  await new Promise((r) => setTimeout(r, 300)); // traffic on open keep-alive connections
  const ready = await fetch(`${server.url}/readyz`);
  expect(ready.status).toBe(200);
  signalledAt = Date.now();
  server.child.kill('SIGTERM');
  // Readiness flips at once (well before the drain ends).
  let notReady = 0;
  while (Date.now() - signalledAt < DRAIN_MS / 2) {
    const r = await fetch(`${server.url}/readyz`);
    if (r.status == 503) {
      notReady = Date.now() - signalledAt;
      break;
    }
  }
  expect(notReady).toBeGreaterThan(0);
  expect(notReady).toBeLessThan(DRAIN_MS / 2);

  expect(await exit).toBe(0);
  await Promise.all(clients);
  const errors = results.filter((r) => r.error);
  const served = results.filter((r) => r.status);
  const servedAfter = served.filter((r) => r.afterSignal);
  const counts = {
    calls: results.length,
    served: served.length,
    servedAfterSignal: servedAfter.length,
    fiveXx: served.filter((r) => r.status! >= 500).length,
    errors: [...new Set(errors.map((e) => e.error))],
    notReadyMs: notReady,
  };
  console.log(`drain: ${JSON.stringify(counts)}`);
  expect(counts.fiveXx).toBe(0);
  expect(served.every((r) => r.status == 200)).toBe(true);
  // Every client stopped on a refused connection, none on a reset or a dropped call.
  expect(errors).toHaveLength(50);
  expect(counts.errors).toEqual(['ECONNREFUSED']);
  expect(servedAfter.length).toBeGreaterThanOrEqual(50); // kept serving through the drain
  // Each connection ended after its last call, which the server answered with Connection: close.
  expect(lastServed.filter((r) => r.close && r.afterSignal)).toHaveLength(50);
  expect(servedAfter.filter((r) => r.close)).toHaveLength(50);
}, 30_000);
