import type { Segtag, Targeting } from '../types';
import { check } from '../core/fail';

/** One OpenRTB 2.x `user.data` entry: a data provider and the visitor's segments from it. */
export interface OrtbData {
  name: string;
  ext?: { segtax: number };
  segment: Array<{ id: string }>;
}

/** An `ortb2` object for `pbjs.mergeConfig({ ortb2 })`: `{}` when there are no segments. */
export interface Ortb2Fragment {
  user?: { data: OrtbData[] };
}

export interface Ortb2Options {
  /** The data provider's name in `user.data[].name`, usually its domain (`segtag.example.com`). */
  name: string;
  /** IAB segment taxonomy id for `ext.segtax`, when the segment ids follow one. */
  segtax?: number;
}

/** The part of Prebid.js that segtag uses (`window.pbjs`). */
export interface PbjsLike {
  que: Array<() => void> | { push(fn: () => void): unknown };
  getConfig(topic: 'ortb2'): unknown;
  setConfig(config: { ortb2: object }): unknown;
  mergeConfig(config: { ortb2: Ortb2Fragment }): unknown;
}

export interface PrebidOptions extends Ortb2Options {
  /** Ceiling for `ready(ms)`: resolves earlier when the first call answers. Default 1000. */
  ms?: number;
  /** Re-merge whenever the segments change (for later auctions: refreshes, lazy-loaded ad units). */
  follow?: boolean;
}

const checkOptions = (o: Ortb2Options) => {
  check(o && typeof o.name == 'string' && /^\S{1,200}$/.test(o.name), 'Prebid options.name');
  check(o.segtax === undefined || (Number.isInteger(o.segtax) && o.segtax > 0), 'Prebid options.segtax');
};

/**
 * Targeting as OpenRTB first-party data, the shape Prebid.js bidders read:
 * `{ user: { data: [{ name, ext: { segtax }, segment: [{ id }] }] } }`, every key's values in
 * order, without duplicates; `{}` when there are none.
 */
export function toOrtb2(targeting: Targeting, options: Ortb2Options): Ortb2Fragment {
  checkOptions(options);
  const { name, segtax } = options;
  const ids = [...new Set(Object.values(targeting || {}).flat())].filter((id) => typeof id == 'string' && id);
  if (!ids.length) return {};
  const data: OrtbData = { name, segment: ids.map((id) => ({ id })) };
  if (segtax) data.ext = { segtax };
  return { user: { data: [data] } };
}

/**
 * Waits with `tag.ready(ms)` (a ceiling: it resolves as soon as the first call answers), then
 * queues `pbjs.mergeConfig({ ortb2 })` on `pbjs.que`. Resolves with the targeting once the merge
 * is queued, so `pbjs.que.push(() => pbjs.requestBids(...))` after it runs after the merge:
 *
 *   applyPrebid(tag, pbjs, { ms: 300, name: 'example.com' }).then(() => pbjs.que.push(requestBids));
 *
 * An earlier entry with the same `name` is replaced, not duplicated (mergeConfig appends to
 * arrays). Throws a TypeError for bad options; the promise never rejects.
 */
export function applyPrebid(
  tag: Pick<Segtag, 'ready' | 'onSegments'>,
  pbjs: PbjsLike | undefined,
  options: PrebidOptions,
): Promise<Targeting> {
  checkOptions(options);
  const { ms, follow } = options;
  check(ms === undefined || (typeof ms == 'number' && ms >= 0), 'Prebid options.ms');
  const w = window as unknown as { pbjs?: PbjsLike };
  const p = pbjs || (w.pbjs ||= { que: [] } as unknown as PbjsLike);
  const merge = (targeting: Targeting) =>
    (p.que ||= []).push(() => {
      const ortb2 = (p.getConfig('ortb2') || {}) as { user?: { data?: unknown } };
      const data = ortb2.user?.data;
      const ours = (d: unknown) => (d as OrtbData)?.name == options.name;
      if (Array.isArray(data) && data.some(ours)) {
        // setConfig replaces the whole ortb2 topic: rebuild it from the current one, minus ours.
        p.setConfig({ ortb2: { ...ortb2, user: { ...ortb2.user, data: data.filter((d) => !ours(d)) } } });
      }
      p.mergeConfig({ ortb2: toOrtb2(targeting, options) });
    });
  // Not async: bad arguments throw here, synchronously, instead of rejecting.
  return tag.ready(ms).then((targeting) => {
    merge(targeting);
    if (follow) tag.onSegments(merge);
    return targeting;
  });
}
