import type { WireEvent } from '../protocol/types';
import type { Platform } from './platform';
import { backoff } from './retry';

/** What one call achieved, as the client reports it back to the queue. */
export interface Delivered {
  /** Why the call failed; undefined when the server answered with a valid response. */
  _error?: string;
  /** HTTP status; absent when there was no answer (network error, timeout). */
  _status?: number;
  /** Event ids the server acknowledged. Absent (a server that predates `ack`): all of them. */
  _ack?: unknown[];
  /** The server's `Retry-After`, in ms. */
  _wait?: number;
}

/** One event waiting for its acknowledgement, in memory. */
interface Queued {
  _event: WireEvent;
  /** The queue ("tab": one per page and instance) that sends it. */
  _owner?: string;
  /** When that ownership lapses (ms since the epoch) unless the owner renews it. */
  _leaseEnd?: number;
  /** A claim on a lapsed event is sent only from this time on, if it still holds then. */
  _verifyAt?: number;
  /** Settles the `add()` promise: undefined once acknowledged, else why not (yet). */
  _settle?: (error?: string) => void;
}

/**
 * One event as stored under `segtag_q_<site>`, shared by the site's tabs and by the pages
 * after this one (the format is kept across versions: one-letter keys, stored by every page).
 */
interface Stored {
  e: WireEvent;
  o: string;
  x: number;
  v?: number;
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

const toStored = (q: Queued): Stored => ({ e: q._event, o: q._owner!, x: q._leaseEnd!, v: q._verifyAt });

/**
 * The stored queue, in memory's form. Anything unreadable (another version's junk, a truncated
 * write, a page's own edits) throws in here and counts as an empty queue.
 */
function readStored(json: string | null): Queued[] {
  try {
    return (JSON.parse(json!) as Stored[])
      .filter((s) => typeof s.e.id == 'string')
      .map((s) => ({ _event: s.e, _owner: s.o, _leaseEnd: s.x, _verifyAt: s.v }));
  } catch {
    return [];
  }
}

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
 *
 * localStorage has no lock, so ownership is a lease: every write renews our events' leases;
 * another tab's events with a live lease are left alone (and dropped from memory if that tab
 * took them over while we were frozen), and we wake when that lease lapses; a page being left
 * (pagehide) ends its leases at once, handing its events to the next page. Lapsed ones (a
 * closed tab's, the previous page's, or ours after a freeze) are claimed, and sent only after
 * VERIFY ms if a re-read shows the claim held: tabs that claim at once converge on the last
 * write. A stored copy naming us that is no longer in memory was acknowledged and is dropped.
 */
export function createQueue(
  site: string,
  timeout: number,
  platform: Platform,
  deliver: (events: WireEvent[], flush?: boolean) => Promise<Delivered>,
  warn: (message: string) => void,
  /** Events per call at most (the codec's limit). */
  maxEvents = BATCH,
) {
  const { _storage: storage, _now: now } = platform;
  const key = queueKey(site);
  const me = platform._uuid();
  // A lease covers the next attempt, one call, and a margin for late timers.
  const lease = timeout + 3000;
  const inFlight = new Set<Queued>();
  let queue: Queued[] = [];
  let failures = 0;
  /** No call starts before this time (backing off), except an unload flush. */
  let holdUntil = 0;
  /** Why the last call failed while we back off: what add() answers meanwhile. */
  let retryReason: string | undefined;
  let timer: number | undefined;
  let stopped = false;
  /**
   * The page was left (pagehide) and not shown again: our leases end now, so the next page (a
   * reload, the site's next page) claims our events at once instead of waiting for them to lapse.
   * Kept until the page is visible again, since a flush answered meanwhile pumps once more.
   */
  let left: boolean | undefined;
  /** Whether this queue has written storage yet (see pump). */
  let wrote = false;
  /** The next moment a pump may change something; each step below lowers it. */
  let wakeAt = Infinity;

  // (A promise's resolve ignores all calls after the first, so `_settle` is never cleared.)
  const forget = (item: Queued, error?: string) => {
    queue = queue.filter((q) => q != item);
    item._settle?.(error);
  };

  /**
   * Merges the stored queue into ours (the ownership rules above). Returns the other tabs'
   * events with a live lease, to store back; wakes when the first of those leases lapses.
   */
  function mergeStored(t: number) {
    const others: Queued[] = [];
    for (const stored of readStored(storage.get(key))) {
      const mine = queue.find((q) => q._event.id == stored._event.id);
      if (mine && inFlight.has(mine)) continue;
      if (stored._leaseEnd! > t) {
        if (stored._owner == me) continue;
        others.push(stored);
        wakeAt = Math.min(wakeAt, stored._leaseEnd! + 1);
        // That tab delivers it (a promise still pending resolves as delivered).
        if (mine) forget(mine);
      } else if (mine) {
        mine._verifyAt = t + VERIFY;
      } else if (stored._owner != me) {
        stored._verifyAt = t + VERIFY;
        queue.push(stored);
      }
    }
    return others;
  }

  /**
   * Renews our leases (or, once the page is left, hands our events over) and writes everything
   * back, oldest first, dropping the oldest over the caps.
   */
  function writeStored(t: number, others: Queued[]) {
    wrote = true;
    for (const item of queue) {
      item._owner = me;
      item._leaseEnd = left ? t : Math.max(t, holdUntil) + lease;
    }
    const all = others.concat(queue).sort((a, b) => a._event.ts - b._event.ts);
    let json: string;
    while ((json = JSON.stringify(all.map(toStored))).length > MAX_CHARS || all.length > MAX_ITEMS) {
      warn('queue full');
      forget(all.shift()!, 'queue full');
    }
    if (all.length) storage.set(key, json);
    else storage.remove(key);
  }

  /**
   * The events the next call carries, if one may start now (`flush`: the page is hidden or
   * left, so it goes alongside a call in flight and even while backing off: it may be the
   * page's last chance); wakes when the first claim still being verified may go.
   */
  function chooseBatch(t: number, flush?: boolean) {
    const batch: Queued[] = [];
    let chars = 0;
    if (!platform._online() || !(flush || (holdUntil <= t && !inFlight.size))) return batch;
    for (const item of queue) {
      if (item._verifyAt! > t) wakeAt = Math.min(wakeAt, item._verifyAt!);
      else if (!inFlight.has(item) && batch.length < maxEvents) {
        chars += JSON.stringify(item._event).length;
        // The first event always goes, however long.
        if (chars < BATCH_CHARS || !batch.length) batch.push(item);
      }
    }
    return batch;
  }

  /** What the answer to a call means for its events, and for the calls after it. */
  function settle(batch: Queued[], { _error: error, _status: status, _ack: ack, _wait: wait = 0 }: Delivered) {
    // A 4xx other than 408 and 429: the server will never take these events, so retrying cannot help.
    const refused = /^4(?!08|29)/.test(status as unknown as string);
    if (error) warn((refused ? 'dropped: ' : 'call failed: ') + error);
    retryReason = refused ? undefined : error;
    for (const item of batch) {
      inFlight.delete(item);
      if (refused || (!error && (!ack || ack.includes(item._event.id)))) forget(item, error);
      else retryReason ||= 'not acknowledged';
    }
    if (retryReason) {
      holdUntil = now() + backoff(++failures, wait, Math.random());
      queue.forEach((item) => item._settle?.(retryReason));
    } else failures = holdUntil = 0;
    pump();
  }

  /**
   * Syncs storage, starts the next call if one may start, and sets the timer for the next
   * moment that may change that (a backoff ending, another tab's lease lapsing, a claim
   * verified).
   */
  function pump(flush?: boolean) {
    const t = now();
    wakeAt = holdUntil > t ? holdUntil : Infinity;
    // Until our first write, none of our events was ever stored, so no other tab can own one:
    // the page's first call leaves before storage is read (a page's first read of it is slow).
    if (!wrote) send(t, flush);
    const others = mergeStored(t);
    // (After an early call, this only sets the timer for claims to verify, or joins a flush.)
    send(t, flush);
    writeStored(t, others);
    if (stopped) return;
    clearTimeout(timer);
    if (wakeAt < Infinity) timer = setTimeout(pump, wakeAt - t);
  }

  /** Starts a call with the next batch, if one may start now; the leases are written right after. */
  function send(t: number, flush?: boolean) {
    const batch = stopped ? [] : chooseBatch(t, flush);
    batch.forEach((item) => inFlight.add(item));
    if (batch.length)
      deliver(
        batch.map((item) => item._event),
        flush,
      ).then((delivered) => settle(batch, delivered));
  }

  const stopListening = platform._lifecycle((hidden, leaving) => {
    left = leaving || (hidden && left);
    pump(hidden);
  });
  // Events left by a previous page or a closed tab.
  queueMicrotask(pump);

  return {
    add: (event: WireEvent) =>
      new Promise<string | undefined>((resolve) => {
        // Owner and lease are set when it is stored, before anything reads them.
        queue.push({ _event: event, _settle: resolve });
        if (holdUntil > now()) resolve(retryReason);
        else if (!platform._online()) resolve('offline');
        // Stored and sent at the end of this task: events raised together share a call.
        queueMicrotask(pump);
      }),
    /** Stops sending; queued events stay stored for the next page. */
    stop() {
      stopped = true;
      clearTimeout(timer);
      stopListening();
      queue.forEach((item) => item._settle?.('destroyed'));
    },
  };
}
