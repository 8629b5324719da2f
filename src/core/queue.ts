import type { WireEvent } from '../protocol/types';
import type { Platform } from './platform';
import { backoff } from './retry';

/** What one call achieved, as the client reports it back to the queue. */
export interface Delivered {
  /** Why the call failed; undefined when the server answered with a valid response. */
  error?: string;
  /** HTTP status; absent when there was no answer (network error, timeout). */
  status?: number;
  /** Event ids the server acknowledged. Absent (a server that predates `ack`): all of them. */
  ack?: unknown[];
  /** The server's `Retry-After`, in ms. */
  wait?: number;
}

/**
 * One queued event, as stored under `segtag_q_<site>`: `e` the event, `o` the id of the
 * queue that owns it (one per page and instance: a "tab"), `x` when that ownership lapses
 * (ms since the epoch), `v` a claim's verification time (below). In memory only: `r`, the
 * pending `add()` promise's resolve (JSON.stringify skips functions).
 */
export interface Item {
  e: WireEvent;
  o: string;
  x: number;
  v?: number;
  r?: (error?: string) => void;
}

// Caps. A call carries at most 10,000 characters of events, at most 30 KB of UTF-8, so a
// call in flight and an unload flush fit the page's 64 KiB keepalive quota together. The
// stored queue: 200 events and 64 Ki characters, the oldest dropped first.
const BATCH = 50;
const BATCH_CHARS = 10000;
const MAX_ITEMS = 200;
const MAX_CHARS = 65536;
/** How long a claim on lapsed events must stand before we send them. */
const VERIFY = 500;

const PREFIX = 'segtag_q_';
export const queueKey = (site: string) => PREFIX + site;

/**
 * The delivery pipeline: a persisted queue of events not yet acknowledged; one call in
 * flight at a time (events raised meanwhile ride in the next call, up to 50 events and
 * 10,000 characters); retries with capped, jittered backoff; a `keepalive` flush when the
 * page is hidden or left; an ownership rule so two tabs of one site never both send an
 * event. Browser-free: storage, clock, network state and lifecycle come from `platform`;
 * `deliver` makes one call and never rejects.
 *
 * `add(event)` resolves undefined once the call carrying the event is acknowledged, or an
 * error as soon as delivery fails or is held (offline; backing off after a failure). A
 * failed event stays queued with the same id and is resent, unless the server refused it
 * with a 4xx other than 408 and 429.
 */
export function createQueue(
  site: string,
  timeout: number,
  platform: Platform,
  deliver: (events: WireEvent[], flush?: boolean) => Promise<Delivered>,
  warn: (message: string) => void,
) {
  const { storage, now } = platform;
  const key = PREFIX + site;
  const me = platform.uuid();
  // A lease covers the next attempt, one call, and a margin for late timers.
  const lease = timeout + 3000;
  const busy = new Set<Item>();
  let q: Item[] = [];
  let fails = 0;
  let hold = 0;
  let lastError: string | false | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = 0;

  // (A promise's resolve ignores all calls after the first, so `r` is never cleared.)
  const forget = (i: Item, error?: string) => {
    q = q.filter((j) => j != i);
    i.r?.(error);
  };

  /**
   * Syncs storage, starts the next call if one may start (`keep`: the page is hidden or
   * left: flush now, alongside a call in flight), and sets the timer for the next moment
   * that may change that.
   *
   * The sync merges the stored queue into ours and writes both back, capped. localStorage
   * has no lock, so ownership is a lease: our events renew theirs on every write; another
   * tab's events with a live lease are left alone (and dropped from memory if that tab took
   * them over while we were frozen), and we wake when that lease lapses; lapsed ones (a
   * closed tab's, the previous page's, or ours after a freeze) are claimed, and sent only
   * after VERIFY ms if a re-read shows the claim held: tabs that claim at once converge on
   * the last write. A copy naming us that is no longer in memory was acknowledged and is
   * dropped; anything unreadable is dropped too.
   */
  function pump(keep?: boolean) {
    const t = now();
    // The other tabs' live events, then ours: what we store.
    const list: Item[] = [];
    const batch: Item[] = [];
    let at = hold > t ? hold : Infinity;
    let chars = 0;
    let json: string;
    try {
      for (const s of JSON.parse(storage.get(key)!) as Item[]) {
        const mine = q.find((i) => i.e.id == s.e.id);
        if (!busy.has(mine!)) {
          if (s.x > t) {
            if (s.o != me) {
              list.push(s);
              at = Math.min(at, s.x + 1);
              // That tab delivers it (a promise still pending resolves as delivered).
              if (mine) forget(mine);
            }
          } else if (mine || s.o != me) (mine || (q.push(s), s)).v = t + VERIFY;
        }
      }
    } catch {}
    for (const i of q) {
      i.o = me;
      i.x = Math.max(t, hold) + lease;
      list.push(i);
    }
    list.sort((a, b) => a.e.ts - b.e.ts);
    while ((json = JSON.stringify(list)).length > MAX_CHARS || list[MAX_ITEMS]) {
      warn('queue full');
      forget(list.shift()!, 'queue full');
    }
    list[0] ? storage.set(key, json) : storage.remove(key);
    if (stopped) return;
    // A flush goes even while backing off: it may be the page's last chance.
    if (platform.online() && (keep || (hold <= t && !busy.size)))
      for (const i of q) {
        if (i.v! > t) at = Math.min(at, i.v!);
        else if (!busy.has(i) && !batch[BATCH - 1] && ((chars += JSON.stringify(i.e).length) < BATCH_CHARS || !batch[0]))
          batch.push(i);
      }
    clearTimeout(timer);
    if (at < Infinity) timer = setTimeout(pump, at - t);
    if (batch[0])
      deliver(
        batch.map((i) => (busy.add(i), i.e)),
        keep,
      ).then(({ error, status, ack, wait = 0 }) => {
        // Other 4xx: the server will never take these events, so retrying cannot help.
        const refused = /^4(?!08|29)/.test(status as any);
        // Why we retry, if we do (add() answers it while we back off).
        lastError = !refused && error;
        if (refused) warn('dropped: ' + error);
        for (const i of batch) {
          busy.delete(i);
          if (refused || (!error && (!ack || ack.includes(i.e.id)))) forget(i, error);
          else lastError ||= 'not acknowledged';
        }
        if (lastError) {
          hold = now() + backoff(++fails, wait, Math.random());
          q.forEach((i) => i.r?.(lastError as string));
        } else fails = hold = 0;
        pump();
      });
  }

  const off = platform.lifecycle(pump);
  // Events left by a previous page or a closed tab.
  queueMicrotask(pump);

  return {
    add: (e: WireEvent) =>
      new Promise<string | undefined>((r) => {
        // Owner and lease are set when it is stored, before anything reads them.
        q.push({ e, r } as Item);
        if (hold > now()) r(lastError as string);
        else if (!platform.online()) r('offline');
        // Stored and sent at the end of this task: events raised together share a call.
        queueMicrotask(pump);
      }),
    /** Stops sending; queued events stay stored for the next page. */
    stop() {
      stopped = 1;
      clearTimeout(timer);
      off();
      q.forEach((i) => i.r?.('destroyed'));
    },
  };
}
