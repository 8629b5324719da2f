import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * How the server mistreats one request:
 * - `503`: answers 503 without processing;
 * - `429`: answers 429 with `Retry-After: 1` (exposed to the page through CORS);
 * - `abort`: destroys the socket before processing (a network error for the page);
 * - `hang`: never answers (the page times out), nothing processed;
 * - `lost`: processes the events, then destroys the socket: the answer is lost, so the
 *   page resends events the server already has (de-duplication at work);
 * - `slow`: processes the events and answers 1.5 s later (a call stays in flight).
 */
export type Fault = '503' | '429' | 'abort' | 'hang' | 'lost' | 'slow';

export interface Received {
  /** 1-based arrival order. */
  n: number;
  ids: string[];
  events: any[];
  fault?: Fault;
  contentType?: string;
}

/**
 * A decisioning server on loopback, for delivery tests: it acknowledges every event of a
 * request it processes, de-duplicates by event id, counts, and injects faults chosen per
 * request by `plan`. Its answer's segments are `['c<N>']`, N the number of distinct events
 * seen so far, so the cookie shows which answer the page applied last.
 */
export async function startCountingServer(plan: (n: number, request: any) => Fault | undefined = () => undefined) {
  const received: Received[] = [];
  /** Distinct events by id, in order of first arrival. */
  const seen = new Map<string, any>();
  const sockets = new Set<Socket>();
  let n = 0;
  const answer = (res: ServerResponse, status: number, body: string, headers = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'Retry-After',
      ...headers,
    });
    res.end(body);
  };
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method != 'POST') return answer(res, 204, '', { 'access-control-allow-methods': 'POST' });
    let request: any;
    try {
      request = JSON.parse(body);
    } catch {
      return answer(res, 400, '{"error":"not JSON"}');
    }
    const events: any[] = Array.isArray(request.events) ? request.events : [];
    const ids = events.map((e) => e.id);
    const fault = plan(++n, request);
    received.push({ n, ids, events, fault, contentType: req.headers['content-type'] });
    if (fault == '503') return answer(res, 503, '{}');
    if (fault == '429') return answer(res, 429, '{}', { 'retry-after': '1' });
    if (fault == 'abort') return void req.socket.destroy();
    if (fault == 'hang') return;
    for (const e of events) if (!seen.has(e.id)) seen.set(e.id, e);
    if (fault == 'lost') return void req.socket.destroy();
    const reply = JSON.stringify({ segments: ['c' + seen.size], ack: ids });
    if (fault == 'slow') setTimeout(() => answer(res, 200, reply), 1500);
    else answer(res, 200, reply);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/rtc`,
    received,
    seen,
    /** Ends hung requests (the browser sees a network error). */
    dropHung() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
