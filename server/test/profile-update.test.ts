/**
 * The per-call update as the profiling of issue 15 changed it: segments evaluated incrementally
 * (only those naming a trait counted in this call, the same rules the same UTC day), profiles as
 * values shared copy-on-write between calls, event ids in a compact bounded string, and profiles
 * stored in the format before (version 1) still read.
 */
import { describe, expect, it } from 'vitest';
import type { WireEvent } from 'segtag/protocol';
import { applyEvents, DEDUP_WINDOW } from '../src/profiles/apply';
import { eventKey, EventIds } from '../src/profiles/event-ids';
import { DAY_MS, decodeProfile, encodeProfile, type Profile } from '../src/profiles/profile';
import { compileRules } from '../src/rules/compile';
import { parseRules } from '../src/rules/parse';
import { createMemoryStore } from '../src/stores/memory';
import { page } from './support/events';

const DAY0 = Date.UTC(2030, 5, 1);
const at = (day: number, h = 12) => DAY0 + day * DAY_MS + h * 3_600_000;

const TRAITS = ['a', 'b', 'c', 'd'];
const rulesWith = (segments: { id: string; rule: object }[], ttlDays = 30) =>
  parseRules({
    ttlDays,
    traits: [
      ...TRAITS.map((t) => ({ id: t, where: { signal: 'k', op: 'equals', value: t } })),
      { id: 'pv', where: { type: 'page' } },
    ],
    segments,
  });

describe('incremental evaluation', () => {
  const engine = compileRules(
    rulesWith([
      { id: 'has-a', rule: { trait: 'a' } },
      { id: 'has-b', rule: { trait: 'b' } },
      { id: 'a-and-pv2', rule: { and: [{ trait: 'a' }, { trait: 'pv', atLeast: 2 }] } },
    ]),
  );

  it('a segment whose traits did not change in this call keeps its previous qualification', () => {
    const first = applyEvents(engine, undefined, [page({ k: 'b' })], at(0));
    expect(first.segments).toEqual(['has-b']);
    // Pretend the previous evaluation (same rules, same day) had said `has-a`: a call that counts
    // only `b` and `pv` does not evaluate `has-a` again, so it is still answered.
    const planted: Profile = { ...first.profile, segments: ['has-a', 'has-b'] };
    expect(applyEvents(engine, planted, [page({ k: 'b' })], at(0, 13)).segments).toEqual(['has-a', 'has-b']);
    // A segment naming a trait counted now is evaluated: `a` counted, `has-a` holds for real.
    expect(applyEvents(engine, planted, [page({ k: 'a' })], at(0, 14)).segments).toEqual([
      'has-a',
      'has-b',
      'a-and-pv2',
    ]);
    // The next day, or under other rules, every segment is evaluated again.
    expect(applyEvents(engine, planted, [page({ k: 'b' })], at(1)).segments).toEqual(['has-b']);
    const other = compileRules(
      rulesWith([
        { id: 'has-a', rule: { trait: 'a' } },
        { id: 'has-b', rule: { trait: 'b' } },
      ]),
    );
    expect(applyEvents(other, planted, [page({ k: 'b' })], at(0, 13)).segments).toEqual(['has-b']);
    // A profile written before profiles recorded their rules: evaluated in full.
    const { rules: _dropped, ...older } = planted;
    expect(applyEvents(engine, older, [page({ k: 'b' })], at(0, 13)).segments).toEqual(['has-b']);
  });

  it('answers what a full evaluation answers, segments and changes, over 200 random rule sets and calls across days', () => {
    // A small deterministic PRNG: the same cases every run.
    let seed = 42;
    const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
    const leaf = () => ({ trait: [...TRAITS, 'pv'][rnd(5)], atLeast: 1 + rnd(3), withinDays: 1 + rnd(5) });
    const rule = (depth: number): object => {
      if (depth == 0 || rnd(3) == 0) return leaf();
      const kind = rnd(3);
      if (kind == 0) return { not: rule(depth - 1) };
      return { [kind == 1 ? 'and' : 'or']: [rule(depth - 1), rule(depth - 1)] };
    };
    for (let r = 0; r < 200; r++) {
      const rules = rulesWith(
        Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, rule: rule(3) })),
        5,
      );
      const incremental = compileRules(rules);
      let profile: Profile | undefined;
      let time = at(0);
      for (let call = 0; call < 60; call++) {
        time += rnd(4) == 0 ? DAY_MS : 600_000 * rnd(6);
        const events = Array.from({ length: rnd(3) }, () => page(rnd(4) == 0 ? {} : { k: TRAITS[rnd(4)] }));
        const a = applyEvents(incremental, profile, events, time);
        // The same profile, evaluated from scratch: no recorded rules, so every segment is evaluated.
        const { rules: _r, ...unmarked } = profile ?? ({} as Profile);
        const full = applyEvents(incremental, profile && (unmarked as Profile), events, time);
        expect(a.segments).toEqual(full.segments);
        expect(a.changes).toEqual(full.changes);
        profile = a.profile;
      }
    }
  });
});

describe('profiles are values (copy on write)', () => {
  const engine = compileRules(rulesWith([{ id: 'has-a', rule: { trait: 'a' } }]));

  it('an update never changes the profile it was given, also when it shares parts of it', () => {
    const first = applyEvents(engine, undefined, [page({ k: 'a' }), page({ k: 'b' })], at(0));
    const text = encodeProfile(first.profile);
    const bucketsB = first.profile.traits.get('b');
    const second = applyEvents(engine, first.profile, [page({ k: 'a' }, 'x1')], at(0, 13));
    expect(encodeProfile(first.profile)).toBe(text);
    // Unchanged traits are shared, changed ones are new maps.
    expect(second.profile.traits.get('b')).toBe(bucketsB);
    expect(second.profile.traits.get('a')).not.toBe(first.profile.traits.get('a'));
    expect(second.profile.traits.get('a')!.get(Math.floor(at(0) / DAY_MS))).toBe(2);
  });

  it('the memory store: the profile an update was handed is left as it was, and `get` answers a copy', async () => {
    const store = createMemoryStore({ now: () => at(0, 13) });
    const update = (events: WireEvent[], now: number) =>
      store.update('visitor-1', (current) => {
        const a = applyEvents(engine, current, events, now);
        return { write: { profile: a.profile, expiresAt: a.expiresAt, changes: a.changes }, result: current };
      });
    await update([page({ k: 'a' }, 'id-1')], at(0, 13));
    const stored = await update([page({ k: 'b' }, 'id-2')], at(0, 13)); // the stored object itself
    const before = encodeProfile(stored!);
    await update([page({ k: 'a' }, 'id-3'), page({ k: 'b' }, 'id-4')], at(0, 13));
    expect(encodeProfile(stored!)).toBe(before);

    const copy = (await store.get('visitor-1'))!;
    const expected = encodeProfile(copy);
    // A caller that changes what `get` answered (the types say it must not) changes nothing stored.
    (copy.traits as Map<string, unknown>).clear();
    (copy.segments as string[]).push('injected');
    ((await store.get('visitor-1'))!.traits.get('a') as Map<number, number>).set(1, 99);
    expect(encodeProfile((await store.get('visitor-1'))!)).toBe(expected);
  });
});

describe('event ids: compact and bounded', () => {
  it('remembers, answers when, trims by count, age and size; ids with `,` or a space are never remembered', () => {
    const bounds = { maxIds: 3, maxAgeMs: 1000, maxChars: 60 };
    let ids = EventIds.empty.with(['a', 'b', 'c', 'd'], 5000, bounds);
    expect([...ids]).toEqual([
      ['b', 5000],
      ['c', 5000],
      ['d', 5000],
    ]);
    expect(ids.has('a')).toBe(false);
    expect(ids.get('c')).toBe(5000);
    ids = ids.with(['e'], 5500, bounds);
    expect(ids.size).toBe(3);
    expect(ids.trimmed(6000, bounds).size).toBe(1); // b, c, d were remembered 1000 ms before
    expect(ids.trimmed(6600, bounds).size).toBe(0);
    const long = 'x'.repeat(40);
    const bySize = ids.with([long], 5600, { ...bounds, maxIds: 10 }); // c, d, e and 46 more characters
    expect(bySize.chars).toBeLessThanOrEqual(60);
    expect([...bySize].map(([id]) => id)).toEqual(['d', 'e', long]);
    expect(EventIds.empty.with(['a,b', 'a b'], 0, bounds).size).toBe(0);
    expect(ids.has('b,')).toBe(false);
  });

  it('500 SDK ids (UUIDs) fit the byte bound; the stored profile stays under it plus the counts', () => {
    const engine = compileRules(rulesWith([{ id: 'has-a', rule: { trait: 'a' } }]));
    let profile: Profile | undefined;
    for (let c = 0; c < 6; c++) {
      const events = Array.from({ length: 100 }, () => page({}, crypto.randomUUID()));
      profile = applyEvents(engine, profile, events, at(0, 1 + c)).profile;
    }
    expect(profile!.seen.size).toBe(500);
    expect(profile!.seen.chars).toBeLessThanOrEqual(DEDUP_WINDOW.maxChars);
    expect(encodeProfile(profile!).length).toBeLessThan(DEDUP_WINDOW.maxChars + 400);
  });
});

describe('the stored format', () => {
  it('a profile stored in version 1 (event ids as [id, time] pairs) still loads and de-duplicates', () => {
    const day = Math.floor(at(0) / DAY_MS);
    const v1 = JSON.stringify({
      v: 1,
      t: [['a', [[day, 2]]]],
      s: ['has-a'],
      l: at(0, 10),
      e: [
        ['old-1', at(0, 9)],
        ['old-2', at(0, 10)],
      ],
    });
    const p = decodeProfile(v1)!;
    expect(p.traits.get('a')!.get(day)).toBe(2);
    expect(p.segments).toEqual(['has-a']);
    expect(p.seen.get(eventKey('old-2'))).toBe(at(0, 10));
    expect(p.rules).toBeUndefined();

    const engine = compileRules(rulesWith([{ id: 'has-a', rule: { trait: 'a', atLeast: 3 } }]));
    const a = applyEvents(engine, p, [page({ k: 'a' }, 'old-1'), page({ k: 'a' }, 'new-1')], at(0, 11));
    expect(a).toMatchObject({ counted: 1, duplicates: 1, segments: ['has-a'] });
    // Written back as version 3, which reads back equal.
    expect(JSON.parse(encodeProfile(a.profile)).v).toBe(3);
    const back = decodeProfile(encodeProfile(a.profile))!;
    expect({ ...back, traits: new Map(back.traits) }).toEqual({ ...a.profile, traits: new Map(a.profile.traits) });
  });

  it('a profile stored in version 2 (the ids themselves in one string) loads, de-duplicates, and is written with keys', () => {
    const day = Math.floor(at(0) / DAY_MS);
    const v2 = JSON.stringify({
      v: 2,
      t: [['a', [[day, 2]]]],
      s: ['has-a'],
      l: at(0, 10),
      i: `,old-1 ${at(0, 9).toString(36)},old-2 ${at(0, 10).toString(36)}`,
      n: 2,
      r: 'not-these-rules',
    });
    const p = decodeProfile(v2)!;
    expect([...p.seen]).toEqual([
      [eventKey('old-1'), at(0, 9)],
      [eventKey('old-2'), at(0, 10)],
    ]);
    const engine = compileRules(rulesWith([{ id: 'has-a', rule: { trait: 'a', atLeast: 3 } }]));
    const a = applyEvents(engine, p, [page({ k: 'a' }, 'old-2'), page({ k: 'a' }, 'new-1')], at(0, 11));
    expect(a).toMatchObject({ counted: 1, duplicates: 1, segments: ['has-a'] });
    const text = encodeProfile(a.profile);
    expect(JSON.parse(text)).toMatchObject({ v: 3, n: 3 });
    expect(text).not.toMatch(/old-|new-1/);
  });

  it('remembers 500 UUIDs in about 21 bytes each', () => {
    const keys = Array.from({ length: 500 }, () => eventKey(crypto.randomUUID()));
    const ids = EventIds.empty.with(keys, at(0), DEDUP_WINDOW);
    expect(ids.size).toBe(500);
    expect(ids.chars).toBeLessThanOrEqual(500 * 21);
  });

  it('rejects what is not a profile', () => {
    for (const text of [
      '',
      '{}',
      '{"v":2,"t":[],"s":[],"l":0,"i":"x","n":1}',
      '{"v":2,"t":[],"s":[],"l":0,"i":"","n":-1}',
    ])
      expect(decodeProfile(text)).toBeUndefined();
  });
});
