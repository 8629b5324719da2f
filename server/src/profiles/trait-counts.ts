/**
 * A profile's trait counts (trait id -> day buckets) as a persistent map: the buckets shared with
 * the profile before (`base`) and the traits changed since (`recent`). A call's update copies only
 * the traits it counts, not every trait the visitor has: a visitor with hundreds of traits (large
 * rules) costs about what one with a few does. `recent` is folded into a new base once it holds
 * more than FOLD_AT traits, so lookups stay two map reads and the folding cost is spread over
 * many calls. Like every part of a profile, a TraitCounts never changes once made.
 */
import type { Buckets } from './profile';

const FOLD_AT = 32;
const NONE: ReadonlyMap<string, Buckets> = new Map();

export class TraitCounts implements ReadonlyMap<string, Buckets> {
  private constructor(
    private readonly base: ReadonlyMap<string, Buckets>,
    private readonly recent: ReadonlyMap<string, Buckets>,
    readonly size: number,
  ) {}

  /** `counts` as a TraitCounts, sharing it (a plain map is taken as the base, not copied: profiles never change). */
  static of(counts: ReadonlyMap<string, Buckets>): TraitCounts {
    return counts instanceof TraitCounts ? counts : new TraitCounts(counts, NONE, counts.size);
  }

  /** These traits' new buckets over the current ones, in a new TraitCounts. */
  with(changed: ReadonlyMap<string, Buckets>): TraitCounts {
    if (!changed.size) return this;
    const recent = new Map(this.recent);
    let size = this.size;
    for (const [id, buckets] of changed) {
      if (!this.has(id)) size++;
      recent.set(id, buckets);
    }
    if (recent.size <= FOLD_AT) return new TraitCounts(this.base, recent, size);
    const folded = new Map(this.base);
    for (const [id, buckets] of recent) folded.set(id, buckets);
    return new TraitCounts(folded, NONE, size);
  }

  get(id: string): Buckets | undefined {
    // Most lookups are of traits the visitor does not have, or has not counted lately.
    return (this.recent.size && this.recent.get(id)) || this.base.get(id);
  }

  has(id: string): boolean {
    return this.recent.has(id) || this.base.has(id);
  }

  *entries(): MapIterator<[string, Buckets]> {
    yield* this.recent;
    for (const entry of this.base) if (!this.recent.has(entry[0])) yield entry;
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<Buckets> {
    for (const [, buckets] of this.entries()) yield buckets;
  }

  forEach(callback: (buckets: Buckets, id: string, map: ReadonlyMap<string, Buckets>) => void, thisArg?: unknown) {
    for (const [id, buckets] of this.entries()) callback.call(thisArg, buckets, id, this);
  }

  [Symbol.iterator](): MapIterator<[string, Buckets]> {
    return this.entries();
  }
}
