/**
 * The server-to-server scheduler: a tick every `tickMs` starts what is due — a real-time
 * partner's flush every `intervalSeconds`, a batch partner's file when its stored next run time
 * has passed (so a run missed while the server was down happens at start) — one run per partner
 * at a time. Reads the partners from the rules in force at each tick, so a reloaded rules file
 * takes effect without a restart.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics';
import { KeyedLock } from '../keyed-lock';
import type { Partner } from '../rules/types';
import type { Outbox } from '../stores/types';
import { loadBatchState, runBatch, type BatchDeps, type Manifest } from './batch';
import { flushRealtime, loadState, retryDeadLetters, type RealtimeDeps } from './realtime';

export interface S2sOptions {
  outbox: Outbox;
  partners: () => Partner[];
  metrics?: Metrics;
  now?: () => number;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  tickMs?: number;
}

export interface S2s {
  start(): void;
  /** Stops the ticks, aborts waits and requests in flight, and waits for runs to end. */
  stop(): Promise<void>;
  /** Runs a partner now (a flush, or a batch file); rejects for an unknown id. */
  run(
    id: string,
    onProgress?: BatchDeps['onProgress'],
  ): Promise<{ delivered?: number; dead?: number; manifest?: Manifest }>;
  /** Resends a real-time partner's dead letters. */
  retry(id: string): Promise<{ delivered: number; failed: number }>;
  /** Updates the queue gauges now (also done every tick). */
  measure(): Promise<void>;
}

export function createS2s(options: S2sOptions): S2s {
  const { outbox, metrics, log } = options;
  const now = options.now ?? Date.now;
  const abort = new AbortController();
  // One run per partner at a time: a second request waits for the first and runs after it.
  const runs = new KeyedLock();
  const lastFlush = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastMeasure = -Infinity;

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

  const runOne = (partner: Partner, onProgress?: BatchDeps['onProgress']) =>
    runs.run(partner.id, async () => {
      if (partner.type == 'realtime') {
        lastFlush.set(partner.id, now());
        return flushRealtime(partner, realtimeDeps);
      }
      try {
        const manifest = await runBatch(partner, { outbox, now, signal: abort.signal, onProgress });
        metrics?.s2sBatchFiles.inc({ partner: partner.id, result: 'ok' });
        metrics?.s2sBatchRows.inc({ partner: partner.id }, manifest.rows);
        log?.info({ partner: partner.id, file: manifest.file, rows: manifest.rows }, 's2s batch file written');
        return { manifest };
      } catch (e) {
        if (!abort.signal.aborted) {
          metrics?.s2sBatchFiles.inc({ partner: partner.id, result: 'error' });
          log?.error({ partner: partner.id, err: e }, 's2s batch file failed; retried at the next tick');
        }
        throw e;
      }
    });

  const measure = async () => {
    let min = Infinity;
    for (const p of options.partners()) {
      const cursor =
        p.type == 'realtime'
          ? (await loadState(outbox, p.id)).cursor
          : p.mode == 'incremental'
            ? (await loadBatchState(outbox, p, now())).cursor
            : undefined;
      if (cursor === undefined) continue;
      min = Math.min(min, cursor);
      const { count, oldestAt } = await outbox.pending(cursor);
      metrics?.s2sQueueDepth.set({ partner: p.id }, count);
      metrics?.s2sOldestAge.set({ partner: p.id }, oldestAt === undefined ? 0 : Math.max(0, (now() - oldestAt) / 1000));
    }
    // Rows every partner is done with are no longer needed.
    if (Number.isFinite(min) && min > 0) await outbox.prune(min);
  };

  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      for (const partner of options.partners()) {
        if (abort.signal.aborted || runs.busy(partner.id)) continue;
        let due: boolean;
        if (partner.type == 'realtime')
          due = now() - (lastFlush.get(partner.id) ?? -Infinity) >= partner.intervalSeconds * 1000;
        else due = (await loadBatchState(outbox, partner, now())).next <= now();
        if (due) runOne(partner).catch(() => {});
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

  return {
    start() {
      if (timer || abort.signal.aborted) return;
      void tick();
      timer = setInterval(() => void tick(), options.tickMs ?? 250);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      abort.abort();
      await runs.idle();
    },
    async run(id, onProgress) {
      return runOne(find(id), onProgress);
    },
    async retry(id) {
      const partner = find(id);
      if (partner.type != 'realtime')
        throw new Error(`partner "${id}" is a batch partner: it has no dead letters (use s2s run)`);
      return runs.run(id, () => retryDeadLetters(partner, realtimeDeps));
    },
    measure,
  };
}
