/**
 * Real-time server-to-server delivery to one partner: outbox rows after the partner's
 * cursor become messages of at most `maxUsersPerMessage` visitors, POSTed to the partner with
 * retries; after the last retry a message becomes a dead letter and delivery moves on.
 *
 * Exactly-once for a partner that de-duplicates on the message id: a message is composed once,
 * saved (with its id and body) in the store as the partner's pending message, and only then
 * sent. A crash before the partner's answer is recorded resends the same body with the same id.
 * Ids are `<partner>:<epoch>:<first seq>-<last seq>`: seqs are never reused within an outbox
 * epoch, and a store that lost its data starts a new random epoch, so two different messages
 * never share an id. Each visitor entry carries the visitor's version and current segments, so
 * a partner that keeps the highest version per visitor is never set back by a late message.
 *
 * With a `fence` (the partner's lease), every commit is refused once another instance holds the
 * lease: an instance that lost its lease can neither move the cursor nor record a dead letter.
 *
 * With `maxInFlight` > 1, messages go out in lanes by visitor (flushLanes): ids then end with
 * `:<lane>`, and the partner's cursor is the lowest lane cursor.
 */
import type { RealtimePartner } from '../rules/types';
import type { DeadLetter, Fence, Outbox } from '../stores/types';
import { createFolder, type UserChange } from './fold';

/** The JSON body of a real-time message (docs/server-to-server.md). */
export interface RealtimeMessage {
  id: string;
  partner: string;
  /** When the message was composed (ISO 8601); a resend carries the same body. */
  sentAt: string;
  users: UserChange[];
}

/** A partner's state in the store: rows up to `cursor` are done; `pending` is being sent. */
export interface RealtimeState {
  cursor: number;
  pending?: { id: string; to: number; body: string };
  /**
   * With several messages in flight (`maxInFlight` > 1): one entry per lane, each with its own
   * cursor (the lane is done with its visitors' rows up to it) and message being sent. `cursor`
   * is then the lowest lane cursor.
   */
  lanes?: LaneState[];
}

/** One lane of a partner with several messages in flight (RealtimeState.lanes). */
export interface LaneState {
  cursor: number;
  pending?: { id: string; to: number; body: string };
}

/** The most messages in flight per partner (`maxInFlight`). */
export const MAX_IN_FLIGHT = 16;

/** The lane of a visitor (FNV-1a of the uid): one visitor's changes always go through one lane. */
export function laneOf(uid: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < uid.length; i++) h = Math.imul(h ^ uid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

export type SendResult =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; reason: 'timeout' | 'network' | 'status'; detail: string; retryAfterMs?: number };

export interface RealtimeDeps {
  outbox: Outbox;
  now: () => number;
  /** Aborted when the server stops: waits end, requests are cut, the pending message stays. */
  signal?: AbortSignal;
  onAttempt?: (partner: string, result: SendResult) => void;
  onDelivered?: (partner: string, users: number) => void;
  onDeadLetter?: (partner: string, letter: DeadLetter) => void;
  /** The partner's lease: commits are refused (LeaseLostError) once it is lost. */
  fence?: Fence;
  /**
   * Messages in flight at once (1 to 16; default 1): the rows are split into this many lanes by
   * a hash of the visitor id, one message per lane at a time, so one visitor's messages stay in order.
   */
  maxInFlight?: number;
}

const ROWS_PER_READ = 1000;
const MAX_BACKOFF_MS = 60_000;
export const stateKey = (id: string) => `realtime:${id}`;

export async function loadState(outbox: Outbox, id: string): Promise<RealtimeState> {
  const text = await outbox.getState(stateKey(id));
  return text ? (JSON.parse(text) as RealtimeState) : { cursor: 0 };
}

/** POSTs one body; never throws. */
export async function send(
  partner: RealtimePartner,
  id: string,
  body: string,
  signal?: AbortSignal,
): Promise<SendResult> {
  const timeout = AbortSignal.timeout(partner.timeoutMs);
  try {
    const res = await fetch(partner.url, {
      method: 'POST',
      headers: { ...partner.headers, 'content-type': 'application/json', 'segtag-message-id': id },
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
    return {
      ok: false,
      retry: true,
      reason: timedOut ? 'timeout' : 'network',
      detail: timedOut ? `no answer within ${partner.timeoutMs} ms` : String((e as Error)?.message ?? e),
    };
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

/** Sends with retries: the first attempt and `partner.retries` more, backing off exponentially with jitter. */
export async function sendWithRetries(
  partner: RealtimePartner,
  id: string,
  body: string,
  deps: RealtimeDeps,
): Promise<SendResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await send(partner, id, body, deps.signal);
    if (deps.signal?.aborted) return result;
    deps.onAttempt?.(partner.id, result);
    if (result.ok || !result.retry || attempt >= partner.retries) return result;
    const backoff = Math.min(partner.retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS);
    await sleep(Math.max(result.retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)), deps.signal);
    if (deps.signal?.aborted) return result;
  }
}

/** A message that used up its retries, kept for `s2s retry` with its body (and versions) as sent. */
const deadLetter = (
  partner: RealtimePartner,
  pending: { id: string; body: string },
  error: string,
  at: number,
): DeadLetter => ({
  partner: partner.id,
  id: pending.id,
  body: pending.body,
  error,
  at,
});

/** Delivers everything in the outbox for `partner` now; resolves with the messages delivered and dead-lettered. */
export async function flushRealtime(
  partner: RealtimePartner,
  deps: RealtimeDeps,
): Promise<{ delivered: number; dead: number }> {
  const { outbox } = deps;
  const key = stateKey(partner.id);
  let delivered = 0;
  let dead = 0;
  // The partner's own setting (the rules file), unless the caller overrides it (tests).
  const lanes = Math.min(MAX_IN_FLIGHT, Math.max(1, Math.floor(deps.maxInFlight ?? partner.maxInFlight ?? 1)));
  while (!deps.signal?.aborted) {
    const state = await loadState(outbox, partner.id);
    if (state.lanes || (!state.pending && lanes > 1)) {
      const r = await flushLanes(partner, deps, state, lanes);
      delivered += r.delivered;
      dead += r.dead;
      break;
    }
    let pending = state.pending;
    if (!pending) {
      const rows = await outbox.after(state.cursor, Math.max(ROWS_PER_READ, partner.maxUsersPerMessage * 20));
      if (!rows.length) break;
      const folder = createFolder(partner.segments, partner.maxUsersPerMessage);
      let to = state.cursor;
      const epoch = rows[0].epoch;
      for (const row of rows) {
        if (row.epoch != epoch || !folder.add(row)) break; // one message, one epoch
        to = row.seq;
      }
      const users = folder.users;
      if (!users.length) {
        await outbox.setState(key, JSON.stringify({ cursor: to }), undefined, deps.fence); // nothing this partner maps
        continue;
      }
      const id = `${partner.id}:${epoch}:${state.cursor + 1}-${to}`;
      const message: RealtimeMessage = { id, partner: partner.id, sentAt: new Date(deps.now()).toISOString(), users };
      pending = { id, to, body: JSON.stringify(message) };
      // Saved before the first attempt: whatever happens next, this id means exactly this body.
      await outbox.setState(key, JSON.stringify({ cursor: state.cursor, pending }), undefined, deps.fence);
    }
    const result = await sendWithRetries(partner, pending.id, pending.body, deps);
    if (deps.signal?.aborted && !result.ok) break; // stopping: the pending message is resent on start
    if (result.ok) {
      await outbox.setState(key, JSON.stringify({ cursor: pending.to }), undefined, deps.fence);
      delivered++;
      deps.onDelivered?.(partner.id, (JSON.parse(pending.body) as RealtimeMessage).users.length);
    } else {
      const letter = deadLetter(partner, pending, result.detail, deps.now());
      await outbox.setState(key, JSON.stringify({ cursor: pending.to }), letter, deps.fence);
      dead++;
      deps.onDeadLetter?.(partner.id, letter);
      // The partner is probably down: the rest waits for the next interval instead of each
      // message burning through its retries now.
      if (result.retry) break;
    }
  }
  return { delivered, dead };
}

/**
 * Several messages in flight: `lanes` independent senders, each composing messages from the
 * rows of its own visitors (`laneOf`) after its own cursor, one message at a time, saved before
 * it is sent. The partner's cursor is the lowest lane cursor, so measuring and pruning only pass
 * a seq once every lane is done with it. Resolves when every lane is idle (or stopped).
 */
async function flushLanes(
  partner: RealtimePartner,
  deps: RealtimeDeps,
  state: RealtimeState,
  configured: number,
): Promise<{ delivered: number; dead: number }> {
  const { outbox } = deps;
  const key = stateKey(partner.id);
  // A saved lane set is finished with its own count (a visitor's lane depends on it).
  const lanes = (state.lanes ??= Array.from({ length: configured }, (): LaneState => ({ cursor: state.cursor })));
  const count = lanes.length;
  let delivered = 0;
  let dead = 0;
  let down = false;
  let writes: Promise<void> = Promise.resolve();
  const commit = (letter?: DeadLetter) => {
    state.cursor = Math.min(...lanes.map((l) => l.cursor));
    const value = JSON.stringify({ cursor: state.cursor, lanes });
    const write = writes.then(() => outbox.setState(key, value, letter, deps.fence));
    writes = write.catch(() => {});
    return write;
  };
  const limit = Math.max(ROWS_PER_READ, partner.maxUsersPerMessage * count * 20);
  const lane = async (i: number) => {
    const own = lanes[i];
    while (!deps.signal?.aborted && !down) {
      let pending = own.pending;
      if (!pending) {
        const rows = await outbox.after(own.cursor, limit);
        if (!rows.length) return;
        const folder = createFolder(partner.segments, partner.maxUsersPerMessage);
        let to = own.cursor;
        const epoch = rows[0].epoch;
        for (const row of rows) {
          if (row.epoch != epoch) break; // one message, one epoch
          // Another lane's visitor: passed over (that lane delivers it); this lane is done with it.
          if (laneOf(row.uid, count) == i && !folder.add(row)) break;
          to = row.seq;
        }
        const users = folder.users;
        if (!users.length) {
          own.cursor = to;
          await commit();
          continue;
        }
        const id = `${partner.id}:${epoch}:${own.cursor + 1}-${to}:${i}`;
        const message: RealtimeMessage = { id, partner: partner.id, sentAt: new Date(deps.now()).toISOString(), users };
        pending = own.pending = { id, to, body: JSON.stringify(message) };
        // Saved before the first attempt: whatever happens next, this id means exactly this body.
        await commit();
      }
      const result = await sendWithRetries(partner, pending.id, pending.body, deps);
      if (deps.signal?.aborted && !result.ok) return; // stopping: the pending message is resent on start
      own.cursor = pending.to;
      delete own.pending;
      if (result.ok) {
        await commit();
        delivered++;
        deps.onDelivered?.(partner.id, (JSON.parse(pending.body) as RealtimeMessage).users.length);
      } else {
        const letter = deadLetter(partner, pending, result.detail, deps.now());
        await commit(letter);
        dead++;
        deps.onDeadLetter?.(partner.id, letter);
        down ||= result.retry; // the partner is probably down: every lane waits for the next interval
      }
    }
  };
  const results = await Promise.allSettled(lanes.map((_, i) => lane(i)));
  const failed = results.find((r) => r.status == 'rejected');
  if (failed) throw failed.reason;
  // Every lane idle at one cursor with another lane count configured: the next run starts afresh.
  if (count != configured && lanes.every((l) => !l.pending && l.cursor == state.cursor) && !deps.signal?.aborted)
    await outbox.setState(key, JSON.stringify({ cursor: state.cursor }), undefined, deps.fence);
  return { delivered, dead };
}

/**
 * Resends a partner's dead letters (same ids, same bodies); delivered ones are removed. A dead
 * letter keeps the versions it was composed with: a partner that already has a newer version of
 * a visitor keeps it, so a late resend never sets a partner back.
 */
export async function retryDeadLetters(
  partner: RealtimePartner,
  deps: RealtimeDeps,
): Promise<{ delivered: number; failed: number }> {
  let delivered = 0;
  let failed = 0;
  for (const letter of await deps.outbox.deadLetters(partner.id)) {
    if (deps.signal?.aborted) break;
    const result = await sendWithRetries(partner, letter.id, letter.body, deps);
    if (result.ok) {
      await deps.outbox.removeDeadLetter(partner.id, letter.id);
      delivered++;
      deps.onDelivered?.(partner.id, (JSON.parse(letter.body) as RealtimeMessage).users.length);
    } else failed++;
  }
  return { delivered, failed };
}
