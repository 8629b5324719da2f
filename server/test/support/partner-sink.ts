/**
 * A targeting partner's endpoint on loopback for server-to-server tests: records every message
 * it receives (also the ones it then fails), and answers as `behave` says: ok, fail with a
 * status, hang (never answer), or answer slowly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  n: number;
  id: string;
  header: string | undefined;
  body: any;
  at: number;
  /** What the sink answered: a status, or 'hang'. */
  answer: number | 'hang';
  /** When the answer was sent (absent while hanging or delayed). */
  repliedAt?: number;
}

export type Behaviour = (
  n: number,
  body: any,
) => { status?: number; hang?: boolean; delayMs?: number; retryAfter?: string };

export async function startSink(behave: Behaviour = () => ({})) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const i = n++;
      const b = sink.behave(i, body);
      const answer = b.hang ? 'hang' : (b.status ?? 200);
      const record: Received = {
        n: i,
        id: body.id,
        header: req.headers['segtag-message-id'] as string | undefined,
        body,
        at: Date.now(),
        answer,
      };
      received.push(record);
      sink.inFlight++;
      sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight);
      if (b.hang) return void hanging.add(res);
      const reply = () => {
        sink.inFlight--;
        record.repliedAt = Date.now();
        res.writeHead(answer as number, b.retryAfter ? { 'retry-after': b.retryAfter } : {});
        res.end(answer == 200 ? 'ok' : 'no');
      };
      if (b.delayMs) setTimeout(reply, b.delayMs);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const sink = {
    url: `http://127.0.0.1:${port}/segments`,
    received,
    behave,
    /** Requests being answered now (hanging ones stay counted), and the most at once so far. */
    inFlight: 0,
    maxInFlight: 0,
    /** Messages the sink accepted (200), first copy per id: what a de-duplicating partner keeps. */
    accepted() {
      const byId = new Map<string, Received>();
      for (const r of received) if (r.answer == 200 && !byId.has(r.id)) byId.set(r.id, r);
      return [...byId.values()];
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return sink;
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
