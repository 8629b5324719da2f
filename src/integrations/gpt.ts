import type { Targeting } from '../types';

/** The part of Google Publisher Tag that segtag uses. */
export interface GoogletagLike {
  cmd: Array<() => void> | { push(fn: () => void): unknown };
  pubads(): { setTargeting(key: string, value: string | string[]): unknown };
}

/**
 * Sets page-level targeting through `googletag.cmd`, so it works before and after
 * GPT loads. Keys with no values are skipped (Audience Manager's GAM recipe).
 */
export function applyGpt(targeting: Targeting, googletag?: GoogletagLike): void {
  const w = window as unknown as { googletag?: GoogletagLike };
  const g = googletag || (w.googletag = w.googletag || ({ cmd: [] } as unknown as GoogletagLike));
  g.cmd = g.cmd || [];
  g.cmd.push(() => {
    const pubads = g.pubads();
    for (const key in targeting) if (targeting[key].length) pubads.setTargeting(key, targeting[key]);
  });
}
