import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TraitCounts } from '../src/profiles/trait-counts';
import type { Buckets } from '../src/profiles/profile';

const buckets = (n: number): Buckets => new Map([[20_000, n]]);
const asMap = (m: ReadonlyMap<string, Buckets>) => new Map([...m].map(([id, b]) => [id, b.get(20_000)]));

describe('TraitCounts', () => {
  it('answers like the map of its changes applied in order, and never changes once made (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), fc.nat(9))), {
          maxLength: 40,
        }),
        (calls) => {
          let counts = TraitCounts.of(new Map([['a', buckets(1)]]));
          const model = new Map<string, number>([['a', 1]]);
          const versions: [TraitCounts, Map<string, number>][] = [];
          for (const call of calls) {
            counts = counts.with(new Map(call.map(([id, n]) => [id, buckets(n)])));
            for (const [id, n] of call) model.set(id, n);
            versions.push([counts, new Map(model)]);
          }
          for (const [version, expected] of versions) {
            expect(asMap(version)).toEqual(expected);
            expect(version.size).toBe(expected.size);
            expect([...version.keys()].sort()).toEqual([...expected.keys()].sort());
            for (const id of 'ab9') expect(version.has(id)).toBe(expected.has(id));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('copies only the traits a call changes until it folds them into a new base', () => {
    const base = new Map(Array.from({ length: 500 }, (_, i) => [`t${i}`, buckets(1)]));
    let counts = TraitCounts.of(base);
    expect(counts.get('t7')).toBe(base.get('t7')); // the plain map is shared, not copied
    for (let i = 0; i < 32; i++) counts = counts.with(new Map([[`t${i}`, buckets(2)]]));
    // 32 changed traits: still over the same base (the 468 others are the very same objects).
    expect(counts.get('t100')).toBe(base.get('t100'));
    expect(counts.size).toBe(500);
    counts = counts.with(new Map([['new', buckets(1)]]));
    expect(counts.size).toBe(501);
    expect(counts.get('t0')!.get(20_000)).toBe(2);
    expect(counts.get('t499')).toBe(base.get('t499'));
  });
});
