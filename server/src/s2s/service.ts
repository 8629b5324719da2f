/**
 * The server-to-server scheduler: a tick every `tickMs` starts what is due — a real-time
 * partner's flush every `intervalSeconds`, a batch partner's file when its stored next run time
 * has passed (so a run missed while the server was down happens at start) — one run per partner
 * at a time. Reads the partners from the rules in force at each tick, so a reloaded rules file
 * takes effect without a restart.
 *
 * One owner per partner across every instance on a store: an instance delivers a partner only
 * while it holds the partner's lease in the store (granted for `leaseMs` with a fencing token
 * that increases with every grant, renewed every third of it). Every commit of a run carries
 * the token and the store refuses it once the lease is someone else's, so an instance that lost
 * its lease (paused, partitioned) can neither move a cursor nor publish a batch file. An owner
 * that dies is replaced within `leaseMs` plus one attempt interval (at most a second).
 * Every instance, owner or not, measures the queues and prunes the outbox.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics';
import { KeyedLock } from '../keyed-lock';
import type { Partner } from '../rules/types';
import { LeaseLostError, type Fence, type Outbox } from '../stores/types';
import { batchKey, loadBatchState, runBatch, type BatchDeps, type BatchState, type Manifest } from './batch';
import { flushRealtime, loadState, retryDeadLetters, type RealtimeDeps } from './realtime';

/** Default lease time: an owner that stops renewing is replaced within this (plus a second). */
export const DEFAULT_LEASE_MS = 15_000;
/** The lease a SQLite-backed delivering process holds on its file: SQLite is single-instance. */
export const INSTANCE_LEASE = '@instance';

export interface S2sOptions {
  outbox: Outbox;
  partners: () => Partner[];
  metrics?: Metrics;
  now?: () => number;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  tickMs?: number;
  /**
   * Compete for the partners' leases and deliver those this instance holds. False: only
   * measure the queues (every instance exports the same gauges) and prune. Default true.
   */
  deliver?: boolean;
  /** How long a lease lasts without renewal (ms); the owner renews every third of it. Default 15 s. */
  leaseMs?: number;
  /** This instance's owner id in the leases. Default `<host>/<pid>/<random>`. */
  owner?: string;
  /**
   * The store is single-instance (SQLite): `start` refuses when another live process delivers
   * from it (the `@instance` lease), naming that process.
   */
  singleInstance?: boolean;
}

export interface S2s {
  /** Starts the ticks; rejects when `singleInstance` and another live process delivers from the store. */
  start(): Promise<void>;
  /** Stops the ticks, aborts waits and requests in flight, waits for runs to end and gives the leases up. */
  stop(): Promise<void>;
  /** Runs a partner now (a flush, or a batch file) under its lease; rejects for an unknown id or a lease held elsewhere. */
  run(
    id: string,
    onProgress?: BatchDeps['onProgress'],
  ): Promise<{ delivered?: number; dead?: number; manifest?: Manifest }>;
  /** Resends a real-time partner's dead letters. */
  retry(id: string): Promise<{ delivered: number; failed: number }>;
  /** Updates the queue gauges now (also done every tick) and prunes the outbox. */
  measure(): Promise<void>;
  /** The partners whose lease this instance holds now. */
  readonly owned: string[];
  readonly owner: string;
}

interface Held {
  token: number;
  /** When the lease was last granted or renewed (the clock read before asking). */
  renewedAt: number;
  /** Aborted when the lease is lost: the partner's run stops. */
  abort: AbortController;
}

/** An owner id: which host and process holds a lease, readable in logs and errors. */
export const ownerId = () => `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;

/** True when `owner` names a process on this host that no longer exists (killed without releasing). */
function deadLocalOwner(owner: string): boolean {
  const [host, pid] = owner.split('/');
  if (host != hostname() || !/^\d+$/.test(pid ?? '') || Number(pid) == process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code == 'ESRCH';
  }
}

/** The batch state as stored, without creating it (only the owner creates it). */
async function readBatchState(outbox: Outbox, id: string): Promise<BatchState | undefined> {
  const text = await outbox.getState(batchKey(id));
  return text ? (JSON.parse(text) as BatchState) : undefined;
}

export function createS2s(options: S2sOptions): S2s {
  const { outbox, metrics, log } = options;
  const now = options.now ?? Date.now;
  const deliver = options.deliver ?? true;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const owner = options.owner ?? ownerId();
  const abort = new AbortController();
  // One run per partner at a time: a second request waits for the first and runs after it.
  const runs = new KeyedLock();
  const lastFlush = new Map<string, number>();
  const held = new Map<string, Held>();
  const lastTry = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastMeasure = -Infinity;

  const drop = (id: string, why: string) => {
    const h = held.get(id);
    if (!h) return;
    held.delete(id);
    h.abort.abort();
    metrics?.s2sLeaseHeld.set({ partner: id }, 0);
    if (!abort.signal.aborted) log?.warn({ partner: id, owner }, `s2s lease lost (${why}): another instance delivers`);
  };

  /**
   * Takes or renews the lease on `id`; resolves with it while held. Renewal every third of the
   * lease time; a store error keeps the lease only while it is surely still valid.
   */
  const ensureLease = async (id: string, force = false): Promise<Held | undefined> => {
    const h = held.get(id);
    const t = now();
    if (h && t - h.renewedAt < leaseMs / 3) return h;
    // Not the owner: ask again at most every tenth of the lease time (a second at most).
    if (!h && !force && t - (lastTry.get(id) ?? -Infinity) < Math.min(1000, leaseMs / 10)) return;
    lastTry.set(id, t);
    let token: number;
    try {
      token = await outbox.lease(id, owner, leaseMs);
    } catch (e) {
      if (h && now() - h.renewedAt >= (leaseMs * 2) / 3) drop(id, `store unreachable: ${(e as Error).message}`);
      return held.get(id);
    }
    if (!token) {
      drop(id, 'held by another instance');
      return;
    }
    if (h && h.token == token) {
      h.renewedAt = t;
      return h;
    }
    if (h) drop(id, 'expired before renewal');
    const fresh: Held = { token, renewedAt: t, abort: new AbortController() };
    held.set(id, fresh);
    metrics?.s2sLeaseHeld.set({ partner: id }, 1);
    log?.info({ partner: id, owner, token }, 's2s lease taken: this instance delivers the partner');
    return fresh;
  };

  const realtimeDeps: RealtimeDeps = {
    outbox,
    now,
    signal: abort.signal,
    onAttempt: (partner, r) => {
      if (!r.ok) {
        metrics?.s2sFailures.inc({ partner, reason: r.reason });
        log?.warn({ partner, reason: r.reason, detail: r.detail }, 's2s delivery attempt failed');
      }
    },
    onDelivered: (partner, users) => {
      metrics?.s2sDeliveries.inc({ partner });
      metrics?.s2sUsers.inc({ partner }, users);
    },
    onDeadLetter: (partner, letter) => {
      metrics?.s2sDeadLetters.inc({ partner });
      log?.error({ partner, id: letter.id, error: letter.error }, 's2s message dead-lettered after its last retry');
    },
  };

  const find = (id: string) => {
    const partner = options.partners().find((p) => p.id == id);
    if (!partner) throw new Error(`no partner "${id}" in the rules`);
    return partner;
  };

  const runOne = (partner: Partner, lease: Held, onProgress?: BatchDeps['onProgress']) =>
    runs.run(partner.id, async () => {
      if (lease.abort.signal.aborted) throw new LeaseLostError(partner.id);
      const fence: Fence = { name: partner.id, owner, token: lease.token };
      const signal = AbortSignal.any([abort.signal, lease.abort.signal]);
      if (partner.type == 'realtime') {
        lastFlush.set(partner.id, now());
        try {
          return await flushRealtime(partner, { ...realtimeDeps, signal, fence });
        } catch (e) {
          if (e instanceof LeaseLostError) drop(partner.id, 'a commit was fenced off');
          throw e;
        }
      }
      try {
        const manifest = await runBatch(partner, { outbox, now, signal, onProgress, fence });
        metrics?.s2sBatchFiles.inc({ partner: partner.id, result: 'ok' });
        metrics?.s2sBatchRows.inc({ partner: partner.id }, manifest.rows);
        log?.info({ partner: partner.id, file: manifest.file, rows: manifest.rows }, 's2s batch file written');
        return { manifest };
      } catch (e) {
        if (e instanceof LeaseLostError) drop(partner.id, 'a commit was fenced off');
        else if (!signal.aborted) {
          metrics?.s2sBatchFiles.inc({ partner: partner.id, result: 'error' });
          log?.error({ partner: partner.id, err: e }, 's2s batch file failed; retried at the next tick');
        }
        throw e;
      }
    });

  const measure = async () => {
    let min = Infinity;
    let needed = false;
    for (const p of options.partners()) {
      const follows = p.type == 'realtime' || p.mode == 'incremental';
      needed ||= follows;
      const cursor = !follows
        ? undefined
        : p.type == 'realtime'
          ? (await loadState(outbox, p.id)).cursor
          : ((await readBatchState(outbox, p.id))?.cursor ?? 0);
      if (cursor === undefined) continue;
      min = Math.min(min, cursor);
      const { count, oldestAt } = await outbox.pending(cursor);
      metrics?.s2sQueueDepth.set({ partner: p.id }, count);
      metrics?.s2sOldestAge.set({ partner: p.id }, oldestAt === undefined ? 0 : Math.max(0, (now() - oldestAt) / 1000));
    }
    // Rows every partner is done with are no longer needed; with no partner that follows the
    // outbox (none, or full-mode batch only), none is.
    const upTo = needed ? min : await outbox.lastSeq();
    if (Number.isFinite(upTo) && upTo > 0) await outbox.prune(upTo);
  };

  const claimInstance = async () => {
    if (!options.singleInstance || !deliver) return true;
    const token = await outbox.lease(INSTANCE_LEASE, owner, leaseMs);
    if (token) return true;
    const holder = await outbox.leaseHolder(INSTANCE_LEASE);
    if (holder && deadLocalOwner(holder)) {
      // Killed without giving the lease up: its process is gone, so take over now.
      await outbox.releaseLease(INSTANCE_LEASE, holder);
      // Its partner leases too: the single instance resumes delivery at once.
      for (const p of options.partners())
        if ((await outbox.leaseHolder(p.id)) == holder) await outbox.releaseLease(p.id, holder);
      return !!(await outbox.lease(INSTANCE_LEASE, owner, leaseMs));
    }
    return false;
  };

  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      if (options.singleInstance && deliver) await outbox.lease(INSTANCE_LEASE, owner, leaseMs);
      for (const partner of options.partners()) {
        if (abort.signal.aborted || !deliver) break;
        const lease = await ensureLease(partner.id);
        if (!lease || runs.busy(partner.id)) continue;
        let due: boolean;
        if (partner.type == 'realtime')
          due = now() - (lastFlush.get(partner.id) ?? -Infinity) >= partner.intervalSeconds * 1000;
        else due = (await loadBatchState(outbox, partner, now())).next <= now();
        if (due) runOne(partner, lease).catch(() => {});
      }
      // Leases of partners no longer in the rules are given up.
      for (const id of held.keys())
        if (!options.partners().some((p) => p.id == id)) {
          drop(id, 'partner removed from the rules');
          await outbox.releaseLease(id, owner).catch(() => {});
        }
      // Gauges once a second: counting a long backlog is not free.
      if (now() - lastMeasure >= 1000) {
        lastMeasure = now();
        await measure();
      }
    } catch (e) {
      log?.error({ err: e }, 's2s scheduler tick failed');
    } finally {
      ticking = false;
    }
  };

  const leased = async (id: string) => {
    const lease = await ensureLease(id, true);
    if (!lease) {
      const holder = await outbox.leaseHolder(id);
      throw new Error(
        `partner "${id}" is being delivered by ${holder ?? 'another instance'} (it holds the partner's lease); run this there, or when it has stopped`,
      );
    }
    return lease;
  };

  return {
    async start() {
      if (timer || abort.signal.aborted) return;
      if (!(await claimInstance())) {
        const holder = await outbox.leaseHolder(INSTANCE_LEASE);
        throw new Error(
          `another process (${holder ?? 'unknown'}) delivers server-to-server from this SQLite file: SQLite is single-instance. Stop it, start this one with --no-s2s, or use a Redis store for several instances`,
        );
      }
      void tick();
      timer = setInterval(() => void tick(), options.tickMs ?? 250);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      abort.abort();
      await runs.idle();
      // Given up on a clean stop, so another instance takes over at once rather than after the lease time.
      const ids = [...held.keys(), ...(options.singleInstance && deliver ? [INSTANCE_LEASE] : [])];
      held.clear();
      await Promise.all(ids.map((id) => outbox.releaseLease(id, owner).catch(() => {})));
    },
    async run(id, onProgress) {
      const partner = find(id);
      try {
        return await runOne(partner, await leased(id), onProgress);
      } finally {
        if (!timer) {
          // A one-off run (s2s run): give the lease back at once.
          held.delete(id);
          await outbox.releaseLease(id, owner).catch(() => {});
        }
      }
    },
    async retry(id) {
      const partner = find(id);
      if (partner.type != 'realtime')
        throw new Error(`partner "${id}" is a batch partner: it has no dead letters (use s2s run)`);
      return runs.run(id, () => retryDeadLetters(partner, realtimeDeps));
    },
    measure,
    get owned() {
      return [...held.keys()];
    },
    owner,
  };
}
