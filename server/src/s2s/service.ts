/**
 * The server-to-server scheduler: a tick every `tickMs` starts what is due — a real-time
 * destination's flush every `intervalSeconds`, a batch destination's file when its stored next
 * run time has passed (so a run missed while the server was down happens at start) — one run
 * per destination at a time. Reads the destinations from the rules in force at each tick, so a
 * reloaded rules file takes effect without a restart.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics';
import type { Destination } from '../rules/types';
import type { Outbox } from '../stores/types';
import { loadBatchState, runBatch, type BatchDeps, type Manifest } from './batch';
import { flushRealtime, loadState, retryDeadLetters, type RealtimeDeps } from './realtime';

export interface S2sOptions {
  outbox: Outbox;
  destinations: () => Destination[];
  metrics?: Metrics;
  now?: () => number;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  tickMs?: number;
}

export interface S2s {
  start(): void;
  /** Stops the ticks, aborts waits and requests in flight, and waits for runs to end. */
  stop(): Promise<void>;
  /** Runs a destination now (a flush, or a batch file); rejects for an unknown id. */
  run(id: string, onProgress?: BatchDeps['onProgress']): Promise<{ delivered?: number; dead?: number; manifest?: Manifest }>;
  /** Resends a real-time destination's dead letters. */
  retry(id: string): Promise<{ delivered: number; failed: number }>;
  /** Updates the queue gauges now (also done every tick). */
  measure(): Promise<void>;
}

export function createS2s(options: S2sOptions): S2s {
  const { outbox, metrics, log } = options;
  const now = options.now ?? Date.now;
  const abort = new AbortController();
  const running = new Map<string, Promise<unknown>>();
  const lastFlush = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastMeasure = -Infinity;

  const realtimeDeps: RealtimeDeps = {
    outbox,
    now,
    signal: abort.signal,
    onAttempt: (destination, r) => {
      if (!r.ok) {
        metrics?.s2sFailures.inc({ destination, reason: r.reason });
        log?.warn({ destination, reason: r.reason, detail: r.detail }, 's2s delivery attempt failed');
      }
    },
    onDelivered: (destination, users) => {
      metrics?.s2sDeliveries.inc({ destination });
      metrics?.s2sUsers.inc({ destination }, users);
    },
    onDeadLetter: (destination, letter) => {
      metrics?.s2sDeadLetters.inc({ destination });
      log?.error({ destination, id: letter.id, error: letter.error }, 's2s message dead-lettered after its last retry');
    },
  };

  const find = (id: string) => {
    const dest = options.destinations().find((d) => d.id == id);
    if (!dest) throw new Error(`no destination "${id}" in the rules`);
    return dest;
  };

  /** One run per destination at a time: a second request waits for the first and runs after it. */
  const exclusive = <T>(id: string, step: () => Promise<T>): Promise<T> => {
    const before = running.get(id) ?? Promise.resolve();
    const mine = before.then(step);
    const tracked: Promise<void> = mine.then(
      () => {},
      () => {},
    ).finally(() => {
      if (running.get(id) === tracked) running.delete(id);
    });
    running.set(id, tracked);
    return mine;
  };

  const runOne = (dest: Destination, onProgress?: BatchDeps['onProgress']) =>
    exclusive(dest.id, async () => {
      if (dest.type == 'realtime') {
        lastFlush.set(dest.id, now());
        return flushRealtime(dest, realtimeDeps);
      }
      try {
        const manifest = await runBatch(dest, { outbox, now, signal: abort.signal, onProgress });
        metrics?.s2sBatchFiles.inc({ destination: dest.id, result: 'ok' });
        metrics?.s2sBatchRows.inc({ destination: dest.id }, manifest.rows);
        log?.info({ destination: dest.id, file: manifest.file, rows: manifest.rows }, 's2s batch file written');
        return { manifest };
      } catch (e) {
        if (!abort.signal.aborted) {
          metrics?.s2sBatchFiles.inc({ destination: dest.id, result: 'error' });
          log?.error({ destination: dest.id, err: e }, 's2s batch file failed; retried at the next tick');
        }
        throw e;
      }
    });

  const measure = async () => {
    const dests = options.destinations();
    let min = Infinity;
    for (const d of dests) {
      const cursor =
        d.type == 'realtime' ? (await loadState(outbox, d.id)).cursor : d.mode == 'incremental' ? (await loadBatchState(outbox, d, now())).cursor : undefined;
      if (cursor === undefined) continue;
      min = Math.min(min, cursor);
      const { count, oldestAt } = await outbox.pending(cursor);
      metrics?.s2sQueueDepth.set({ destination: d.id }, count);
      metrics?.s2sOldestAge.set({ destination: d.id }, oldestAt === undefined ? 0 : Math.max(0, (now() - oldestAt) / 1000));
    }
    // Rows every destination is done with are no longer needed.
    if (Number.isFinite(min) && min > 0) await outbox.prune(min);
  };

  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      for (const dest of options.destinations()) {
        if (abort.signal.aborted || running.has(dest.id)) continue;
        let due: boolean;
        if (dest.type == 'realtime') due = now() - (lastFlush.get(dest.id) ?? -Infinity) >= dest.intervalSeconds * 1000;
        else due = (await loadBatchState(outbox, dest, now())).next <= now();
        if (due) runOne(dest).catch(() => {});
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
      await Promise.allSettled([...running.values()]);
    },
    async run(id, onProgress) {
      return runOne(find(id), onProgress);
    },
    async retry(id) {
      const dest = find(id);
      if (dest.type != 'realtime') throw new Error(`destination "${id}" is a batch destination: it has no dead letters (use s2s run)`);
      return exclusive(id, () => retryDeadLetters(dest, realtimeDeps));
    },
    measure,
  };
}
