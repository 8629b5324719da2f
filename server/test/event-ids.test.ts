/**
 * EventIds as a persistent structure: every version answers like a plain list of [id, time]
 * trimmed as docs/rules.md says, versions made later never change one made before, and a new
 * version shares the chunks it did not change (a call on a profile kept in memory does not copy
 * or re-read every remembered id).
 */
import { describe, expect, it } from 'vitest';
import { chunksOf, EventIds, type IdBounds } from '../src/profiles/event-ids';
import { DEDUP_WINDOW } from '../src/profiles/apply';

/** The reference: entries oldest first, trimmed from the front exactly as documented. */
type Model = readonly (readonly [string, number])[];
const entryChars = ([id, at]: readonly [string, number]) => 2 + id.length + Math.trunc(at).toString(36).length;
const modelChars = (m: Model) => m.reduce((n, e) => n + entryChars(e), 0);
const modelText = (m: Model) => m.map(([id, at]) => `,${id} ${Math.trunc(at).toString(36)}`).join('');

function modelTrim(m: Model, now: number, { maxIds, maxAgeMs, maxChars }: IdBounds): Model {
  let start = 0;
  let chars = modelChars(m);
  while (start < m.length && (m[start][1] <= now - maxAgeMs || m.length - start > maxIds || chars > maxChars))
    chars -= entryChars(m[start++]);
  return m.slice(start);
}
const modelWith = (m: Model, ids: readonly string[], at: number, bounds: IdBounds): Model =>
  modelTrim([...m, ...ids.filter(EventIds.canRemember).map((id) => [id, Math.trunc(at)] as const)], at, bounds);

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
  };
}

/** Every answer of `ids` is that of the list `m` (compared as text, which is quick; a diff when not). */
function expectSame(ids: EventIds, m: Model, probes: readonly string[]) {
  const answers = (size: number, chars: number, text: string, entries: unknown, found: (id: string) => unknown) =>
    JSON.stringify({ size, chars, text, entries, found: probes.map((id) => [id, found(id)]) });
  const actual = answers(ids.size, ids.chars, ids.toString(), [...ids], (id) => [ids.has(id), ids.get(id) ?? null]);
  const expected = answers(m.length, modelChars(m), modelText(m), m, (id) => {
    const first = m.find(([mid]) => mid == id);
    return [!!first, first?.[1] ?? null];
  });
  if (actual != expected) expect(JSON.parse(actual)).toEqual(JSON.parse(expected));
}

describe('event ids: a persistent structure that answers like the list it stands for', () => {
  it('random with/trimmed/parse sequences match a plain list at every step, and old versions never change', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = random(seed);
      // Few distinct ids, so lookups hit as often as they miss; some can never be remembered.
      const pool = Array.from({ length: 300 }, (_, i) =>
        i % 97 == 0 ? `bad id${i}` : i % 89 == 0 ? `bad,${i}` : `id${i}`,
      );
      const probes = [...pool.slice(0, 40), 'missing', 'id1 ', ',id2', ''];
      const bounds = (): IdBounds => ({
        maxIds: r.pick([0, 1, 5, 31, 32, 33, 64, 100, 500]),
        maxAgeMs: r.pick([0, 50, 1000, 10_000]),
        maxChars: r.pick([0, 40, 300, 2000, 24_576]),
      });
      let now = r.int(1000);
      let ids = EventIds.empty;
      let model: Model = [];
      const versions: { ids: EventIds; model: Model }[] = [];
      for (let step = 0; step < 150; step++) {
        now += r.pick([0, 1, 7, 100, 2000]);
        const op = r.next();
        // Mostly long-lived growth (as the memory store does); sometimes back to an old version
        // (a store retrying a change on the profile it read), sometimes through the stored form.
        if (op < 0.1 && versions.length) ({ ids, model } = versions[r.int(versions.length)]);
        else if (op < 0.2) {
          const parsed = EventIds.parse(ids.toString(), ids.size);
          expect(parsed).toBeDefined();
          ids = parsed!;
        } else if (op < 0.3) {
          const b = bounds();
          ids = ids.trimmed(now, b);
          model = modelTrim(model, now, b);
        } else {
          const b = op < 0.8 ? { maxIds: 100, maxAgeMs: 10_000, maxChars: 24_576 } : bounds();
          const fresh = Array.from({ length: r.pick([0, 1, 1, 1, 3, 40]) }, () => r.pick(pool));
          ids = ids.with(fresh, now, b);
          model = modelWith(model, fresh, now, b);
        }
        // Searching many times builds chunk indexes; answers must not change with them.
        for (let k = r.int(4); k >= 0; k--) expectSame(ids, model, probes);
        versions.push({ ids, model });
      }
      for (const v of versions) expectSame(v.ids, v.model, probes);
    }
  });

  it('fromPairs (stored version 1) and parse (version 2) answer like the list; duplicates answer the oldest', () => {
    const pairs: [string, number][] = Array.from({ length: 75 }, (_, i) => [`p${i % 70}`, 1000 + i]);
    const ids = EventIds.fromPairs([...pairs, ['bad id', 1], ['x', NaN]]);
    expectSame(ids, pairs, ['p0', 'p5', 'p69', 'bad id', 'x']);
    expect(ids.get('p3')).toBe(1003); // p3 is there twice: the oldest answers
    const parsed = EventIds.parse(ids.toString(), ids.size)!;
    expectSame(parsed, pairs, ['p0', 'p5', 'p69']);
    // Cutting off the first p3 (by count) leaves the later one, indexed or not.
    const bounds = { maxIds: 71, maxAgeMs: 1e9, maxChars: 1e9 };
    for (const v of [ids, parsed]) {
      for (let k = 0; k < 5; k++) v.has('p3');
      const cut = v.trimmed(2000, bounds);
      expect(cut.get('p3')).toBe(1073);
      expect(cut.get('p0')).toBe(1070);
      expect(cut.has('p1')).toBe(true);
      expectSame(cut, pairs.slice(4), ['p0', 'p3', 'p4', 'p69']);
    }
    expect(EventIds.parse('', 0)?.size).toBe(0);
    expect(EventIds.parse('x', 1)).toBeUndefined();
    expect(EventIds.parse('', 1)).toBeUndefined();
    expect(EventIds.parse(',a 1', -1)).toBeUndefined();
  });
});

describe('event ids: versions share what did not change', () => {
  const full = () => {
    let ids = EventIds.empty;
    for (let i = 0; i < 500; i++) ids = ids.with([crypto.randomUUID()], 1_000 + i, DEDUP_WINDOW);
    return ids;
  };

  it('remembering one more id at the 500-id bound copies only the last chunk and cuts only the first', () => {
    const before = full();
    const chunks = chunksOf(before);
    expect(before.size).toBe(500);
    expect(chunks.length).toBeGreaterThan(4);
    const text = before.toString();

    const after = before.with([crypto.randomUUID()], 2_000, DEDUP_WINDOW);
    const next = chunksOf(after);
    expect(after.size).toBe(500);
    // The middle chunks are the same objects; the first is a cut of the same entries.
    expect(next.slice(1, -1)).toEqual(chunks.slice(1, -1));
    next.slice(1, -1).forEach((c, i) => expect(c).toBe(chunks[i + 1]));
    expect(next[0].entries).toBe(chunks[0].entries);
    expect(next[0].size).toBe(chunks[0].size - 1);
    // New entries went to one chunk of at most a chunk's size.
    expect(next.at(-1)!.size).toBeLessThanOrEqual(chunks[0].size);
    // The version before answers as it did.
    expect(before.toString()).toBe(text);
    expect(before.size).toBe(500);
    expect(chunksOf(before)).toEqual(chunks);
  });

  it('trimming by age drops whole chunks and cuts one; nothing to drop answers the same version', () => {
    const before = full();
    expect(before.trimmed(1_000 + DEDUP_WINDOW.maxAgeMs - 1, DEDUP_WINDOW)).toBe(before);
    const text = before.toString();
    const chunks = chunksOf(before);
    const after = before.trimmed(1_000 + DEDUP_WINDOW.maxAgeMs + 100, DEDUP_WINDOW); // ids 0..100 too old
    expect(after.size).toBe(399);
    const kept = chunksOf(after);
    expect(kept[0].entries).toBe(chunks[chunks.length - kept.length].entries);
    kept.slice(1).forEach((c, i) => expect(c).toBe(chunks[chunks.length - kept.length + 1 + i]));
    expect(before.toString()).toBe(text);
    expect(after.toString()).toBe(text.slice(text.length - after.chars));
  });

  it('a chunk searched again and again is indexed once; calls after that search only the newest chunk', () => {
    const before = full();
    const probe = [...before][250][0];
    // Characters of the strings searched for an id (`,<id> `), by indexOf or includes.
    let searched = 0;
    const { indexOf, includes } = String.prototype;
    const counting = <R>(f: (this: string, s: string, from?: number) => R) =>
      function (this: string, s: string, from?: number): R {
        if (s.length > 1) searched += this.length;
        return f.call(this, s, from);
      };
    String.prototype.indexOf = counting(indexOf);
    String.prototype.includes = counting(includes);
    try {
      for (let k = 0; k < 5; k++) before.has('warm-up'); // searches every chunk: builds the indexes
      searched = 0;
      let ids = before;
      for (let k = 0; k < 10; k++) {
        expect(ids.has(probe)).toBe(true);
        expect(ids.has(`new-${k}`)).toBe(false);
        ids = ids.with([`new-${k}`], 3_000 + k, DEDUP_WINDOW);
      }
    } finally {
      String.prototype.indexOf = indexOf;
      String.prototype.includes = includes;
    }
    // 20 lookups in 500 ids: a tenth of one search through all of them each would be plenty.
    expect(searched).toBeLessThan((20 * before.chars) / 10);
  });
});
