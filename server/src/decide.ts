/**
 * One decision, shared by `/v1/rtc` and `/event`: count a visitor's new events in the store's
 * per-uid transaction and answer the segments they now qualify for.
 */
import { randomUUID } from 'node:crypto';
import type { WireEvent } from 'segtag/protocol';
import type { Metrics } from './http/metrics';
import { applyEvents, type Applied } from './profiles/apply';
import { wants } from './rules/partners';
import type { RulesSource } from './rules/source';
import type { Rules } from './rules/types';
import type { ProfileStore } from './stores/types';

export interface Decision {
  uid: string;
  /** True when the server made up the uid (the request had none, or an invalid one). */
  assigned: boolean;
  segments: readonly string[];
  ack: string[];
  /** The rules the decision used (ttl, the /event cookie settings). */
  rules: Rules;
}

export interface DeciderDeps {
  rules: RulesSource;
  store: () => ProfileStore;
  metrics: Metrics;
  now: () => number;
}

export type Decide = (uid: string | undefined, events: readonly WireEvent[]) => Promise<Decision>;

export function createDecider({ rules, store, metrics, now }: DeciderDeps): Decide {
  return async (requestUid, events) => {
    const engine = rules.engine; // one rules version for the whole call, even across a reload
    const uid = requestUid ?? randomUUID();
    const partners = engine.rules.partners;
    const applied = await store().update<Applied>(uid, (current) => {
      const a = applyEvents(engine, current, events, now());
      // Only the segments some partner maps go to the outbox (none without partners).
      const mapped = (s: string) => partners.some((p) => wants(p.segments, s));
      const deliver = partners.length
        ? { entered: a.changes.entered.filter(mapped), exited: a.changes.exited.filter(mapped) }
        : undefined;
      return { write: { profile: a.profile, expiresAt: a.expiresAt, changes: a.changes, deliver }, result: a };
    });
    metrics.events.inc({ result: 'counted' }, applied.counted);
    metrics.events.inc({ result: 'duplicate' }, applied.duplicates);
    metrics.qualifications.inc(applied.changes.entered.length);
    metrics.disqualifications.inc(applied.changes.exited.length);
    return {
      uid,
      assigned: requestUid === undefined,
      segments: applied.segments,
      ack: applied.ack,
      rules: engine.rules,
    };
  };
}
