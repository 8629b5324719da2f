/**
 * Real-time server-to-server delivery of one destination: outbox rows after the destination's
 * cursor become messages of at most `maxUsersPerMessage` visitors, POSTed to the partner with
 * retries; after the last retry a message becomes a dead letter and delivery moves on.
 *
 * Exactly-once for a partner that de-duplicates on the message id: a message is composed once,
 * saved (with its id and body) in the store as the destination's pending message, and only then
 * sent. A crash before the partner's answer is recorded resends the same body with the same id.
 * Ids are `<destination>:<first seq>-<last seq>`: outbox seqs are never reused, so two
 * different messages never share an id.
 */
import type { RealtimeDestination } from '../rules/types';
import type { DeadLetter, Outbox } from '../stores/types';
import { createFolder, type UserChange } from './fold';

/** The JSON body of a real-time message (docs/server-to-server.md). */
export interface RealtimeMessage {
  id: string;
  destination: string;
  /** When the message was composed (ISO 8601); a resend carries the same body. */
  sentAt: string;
  users: UserChange[];
}

/** A destination's state in the store: rows up to `cursor` are done; `pending` is being sent. */
export interface RealtimeState {
  cursor: number;
  pending?: { id: string; to: number; body: string };
}

export type SendResult = { ok: true; status: number } | { ok: false; retry: boolean; reason: 'timeout' | 'network' | 'status'; detail: string; retryAfterMs?: number };

export interface RealtimeDeps {
  outbox: Outbox;
  now: () => number;
  /** Aborted when the server stops: waits end, requests are cut, the pending message stays. */
  signal?: AbortSignal;
  onAttempt?: (destination: string, result: SendResult) => void;
  onDelivered?: (destination: string, users: number) => void;
  onDeadLetter?: (destination: string, letter: DeadLetter) => void;
}

const ROWS_PER_READ = 1000;
const MAX_BACKOFF_MS = 60_000;
export const stateKey = (id: string) => `realtime:${id}`;

export async function loadState(outbox: Outbox, id: string): Promise<RealtimeState> {
  const text = await outbox.getState(stateKey(id));
  return text ? (JSON.parse(text) as RealtimeState) : { cursor: 0 };
}

/** POSTs one body; never throws. */
export async function send(dest: RealtimeDestination, id: string, body: string, signal?: AbortSignal): Promise<SendResult> {
  const timeout = AbortSignal.timeout(dest.timeoutMs);
  try {
    const res = await fetch(dest.url, {
      method: 'POST',
      headers: { ...dest.headers, 'content-type': 'application/json', 'segtag-message-id': id },
      body,
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await res.arrayBuffer().catch(() => {}); // the body is not used, but the connection is freed
    if (res.ok) return { ok: true, status: res.status };
    const retry = res.status == 408 || res.status == 429 || res.status >= 500;
    const after = Number(res.headers.get('retry-after'));
    return {
      ok: false,
      retry,
      reason: 'status',
      detail: `HTTP ${res.status}`,
      retryAfterMs: Number.isFinite(after) && after >= 0 ? Math.min(after * 1000, MAX_BACKOFF_MS) : undefined,
    };
  } catch (e) {
    const timedOut = timeout.aborted && !signal?.aborted;
    return { ok: false, retry: true, reason: timedOut ? 'timeout' : 'network', detail: timedOut ? `no answer within ${dest.timeoutMs} ms` : String((e as Error)?.message ?? e) };
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Sends with retries: the first attempt and `dest.retries` more, backing off exponentially with jitter. */
export async function sendWithRetries(dest: RealtimeDestination, id: string, body: string, deps: RealtimeDeps): Promise<SendResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await send(dest, id, body, deps.signal);
    if (deps.signal?.aborted) return result;
    deps.onAttempt?.(dest.id, result);
    if (result.ok || !result.retry || attempt >= dest.retries) return result;
    const backoff = Math.min(dest.retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS);
    await sleep(Math.max(result.retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)), deps.signal);
    if (deps.signal?.aborted) return result;
  }
}

/** Delivers everything in the outbox for `dest` now; resolves with the messages delivered and dead-lettered. */
export async function flushRealtime(dest: RealtimeDestination, deps: RealtimeDeps): Promise<{ delivered: number; dead: number }> {
  const { outbox } = deps;
  const key = stateKey(dest.id);
  let delivered = 0;
  let dead = 0;
  while (!deps.signal?.aborted) {
    const state = await loadState(outbox, dest.id);
    let pending = state.pending;
    if (!pending) {
      const rows = await outbox.after(state.cursor, Math.max(ROWS_PER_READ, dest.maxUsersPerMessage * 20));
      if (!rows.length) break;
      const folder = createFolder(dest.segments, dest.maxUsersPerMessage);
      let to = state.cursor;
      for (const row of rows) {
        if (!folder.add(row)) break;
        to = row.seq;
      }
      const users = folder.users;
      if (!users.length) {
        await outbox.setState(key, JSON.stringify({ cursor: to })); // nothing this destination maps
        continue;
      }
      const id = `${dest.id}:${state.cursor + 1}-${to}`;
      const message: RealtimeMessage = { id, destination: dest.id, sentAt: new Date(deps.now()).toISOString(), users };
      pending = { id, to, body: JSON.stringify(message) };
      // Saved before the first attempt: whatever happens next, this id means exactly this body.
      await outbox.setState(key, JSON.stringify({ cursor: state.cursor, pending }));
    }
    const result = await sendWithRetries(dest, pending.id, pending.body, deps);
    if (deps.signal?.aborted && !result.ok) break; // stopping: the pending message is resent on start
    if (result.ok) {
      await outbox.setState(key, JSON.stringify({ cursor: pending.to }));
      delivered++;
      deps.onDelivered?.(dest.id, (JSON.parse(pending.body) as RealtimeMessage).users.length);
    } else {
      const letter: DeadLetter = { destination: dest.id, id: pending.id, body: pending.body, error: result.detail, at: deps.now() };
      await outbox.setState(key, JSON.stringify({ cursor: pending.to }), letter);
      dead++;
      deps.onDeadLetter?.(dest.id, letter);
      // The partner is probably down: the rest waits for the next interval instead of each
      // message burning through its retries now.
      if (result.retry) break;
    }
  }
  return { delivered, dead };
}

/** Resends a destination's dead letters (same ids, same bodies); delivered ones are removed. */
export async function retryDeadLetters(dest: RealtimeDestination, deps: RealtimeDeps): Promise<{ delivered: number; failed: number }> {
  let delivered = 0;
  let failed = 0;
  for (const letter of await deps.outbox.deadLetters(dest.id)) {
    if (deps.signal?.aborted) break;
    const result = await sendWithRetries(dest, letter.id, letter.body, deps);
    if (result.ok) {
      await deps.outbox.removeDeadLetter(dest.id, letter.id);
      delivered++;
      deps.onDelivered?.(dest.id, (JSON.parse(letter.body) as RealtimeMessage).users.length);
    } else failed++;
  }
  return { delivered, failed };
}
