import type { Targeting } from '../types';
import { gamTargeting } from './gam-rules';

/**
 * The parts of Google Publisher Tag that segtag uses, declared here so the published types
 * do not need `@types/google-publisher-tag`; test/public-types.test.ts checks the real
 * `googletag` and `googletag.Slot` against them. `setTargeting`/`clearTargeting` are marked
 * deprecated there in favor of `setConfig({ targeting })`, which only recent GPT versions
 * have; these work in every version.
 */
export interface GptTargetable {
  setTargeting(key: string, value: string | string[]): unknown;
  clearTargeting(key?: string): unknown;
}
export interface GoogletagLike {
  cmd: Array<() => void> | { push(...fns: Array<() => void>): unknown };
  pubads(): GptTargetable & { refresh(slots?: GptTargetable[] | null): unknown };
}

export interface GptOptions {
  /** Slot-level targeting on these slots instead of page-level targeting. */
  slots?: GptTargetable[];
  /**
   * After setting the targeting, `pubads().refresh(slots)` (all slots when none are given):
   * the second half of the `disableInitialLoad()` recipe. Only on this first apply.
   */
  refresh?: boolean;
  /**
   * Re-apply whenever this tag's segments change (fresher segments arriving after the first
   * ad call): new values are set and vanished keys cleared, for the next ad requests; no refresh.
   */
  follow?: { onSegments(listener: (targeting: Targeting) => void): () => void };
  /** Warn on the console about keys and values GAM would drop. */
  debug?: boolean;
}

/**
 * Sets targeting through `googletag.cmd`, so it works before and after GPT loads, keeping
 * only keys and values that GAM accepts (see gam-rules.ts). Keys with no values are skipped
 * (Audience Manager's GAM recipe). Returns a function that stops `follow`.
 */
export function applyGpt(targeting: Targeting, googletag?: GoogletagLike, options: GptOptions = {}): () => void {
  const { slots, refresh, follow, debug } = options;
  const w = window as unknown as { googletag?: GoogletagLike };
  const g = googletag || (w.googletag ||= { cmd: [] } as unknown as GoogletagLike);
  let keys: string[] = [];
  const apply = (t: Targeting, first?: 1) =>
    (g.cmd ||= []).push(() => {
      const valid = gamTargeting(t, debug);
      for (const target of slots || [g.pubads()]) {
        for (const key of keys) if (!valid[key]) target.clearTargeting(key);
        for (const key in valid) target.setTargeting(key, valid[key]);
      }
      keys = Object.keys(valid);
      if (first && refresh) g.pubads().refresh(slots);
    });
  apply(targeting, 1);
  return follow ? follow.onSegments(apply) : () => {};
}

/**
 * The script tag's `gpt` command, kept small: page-level targeting of segtag's own key-values.
 * Their key passed GPT's key rules at init and their values are allowlisted segment ids, so
 * the one GPT rule they can break is the 40-character value limit.
 */
export function gptCommand(targeting: Targeting, refresh?: boolean, debug?: boolean) {
  const w = window as unknown as { googletag?: GoogletagLike };
  const g = (w.googletag ||= { cmd: [] } as unknown as GoogletagLike);
  (g.cmd ||= []).push(() => {
    const pubads = g.pubads();
    for (const key in targeting) {
      const values = targeting[key].filter((v) => {
        const accepted = v.length <= 40;
        if (!accepted && debug) console.warn('segtag: GAM rules drop', key, v);
        return accepted;
      });
      if (values.length) pubads.setTargeting(key, values);
    }
    if (refresh) pubads.refresh();
  });
}
