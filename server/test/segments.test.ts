/**
 * Segments over time: AND/OR/NOT, frequency (`atLeast`) and recency (`withinDays`) on UTC day
 * buckets, TTL expiry, de-duplication windows and the indexes, all with an explicit clock.
 */
import { describe, expect, it } from 'vitest';
import type { WireEvent } from 'segtag/protocol';
import { applyEvents, type Applied } from '../src/profiles/apply';
import { eventKey } from '../src/profiles/event-ids';
import { DAY_MS, encodeProfile, type Profile } from '../src/profiles/profile';
import { compileRules, type Engine } from '../src/rules/compile';
import { matchesWhere } from '../src/rules/match';
import { parseRules } from '../src/rules/parse';
import type { Rule } from '../src/rules/types';
import { page, track } from './support/events';

/** Midnight UTC starting day `d` of the test calendar. */
const DAY0 = Date.UTC(2030, 5, 1);
const at = (day: number, h = 12, m = 0, s = 0, ms = 0) => DAY0 + day * DAY_MS + ((h * 60 + m) * 60 + s) * 1000 + ms;

/** A visitor over time: each call applies events at a time and keeps the profile. */
function visitor(engine: Engine) {
  let profile: Profile | undefined;
  let last: Applied | undefined;
  return {
    call(time: number, ...events: WireEvent[]) {
      last = applyEvents(engine, profile, events, time);
      profile = last.profile;
      return last.segments;
    },
    get profile() {
      return profile!;
    },
    get last() {
      return last!;
    },
  };
}

const engineFor = (segments: { id: string; rule: Rule | object }[], ttlDays = 30) =>
  compileRules(
    parseRules({
      ttlDays,
      traits: [
        { id: 'a', where: { signal: 'k', op: 'equals', value: 'a' } },
        { id: 'b', where: { signal: 'k', op: 'equals', value: 'b' } },
        { id: 'pv', where: { type: 'page' } },
      ],
      segments,
    }),
  );
const A = () => page({ k: 'a' });
const B = () => page({ k: 'b' });

describe('boolean rules', () => {
  it('and, or, not, nested; answers in rules-file order', () => {
    const engine = engineFor([
      { id: 'a-and-b', rule: { and: [{ trait: 'a' }, { trait: 'b' }] } },
      { id: 'a-or-b', rule: { or: [{ trait: 'a' }, { trait: 'b' }] } },
      { id: 'not-a', rule: { not: { trait: 'a' } } },
      {
        id: 'nested',
        rule: { and: [{ or: [{ trait: 'b' }, { trait: 'a' }] }, { not: { and: [{ trait: 'a' }, { trait: 'b' }] } }] },
      },
      { id: 'b-twice', rule: { trait: 'b', atLeast: 2 } },
    ]);
    const v = visitor(engine);
    // A new visitor has no traits: only `not` holds (evaluated once, at compile time).
    expect(v.call(at(0))).toEqual(['not-a']);
    expect(v.call(at(0), B())).toEqual(['a-or-b', 'not-a', 'nested']);
    expect(v.call(at(0), A())).toEqual(['a-and-b', 'a-or-b']);
    expect(v.call(at(0), B())).toEqual(['a-and-b', 'a-or-b', 'b-twice']);
  });

  it('a segment whose traits are none of the visitor’s is answered without evaluating it, correctly', () => {
    const engine = engineFor([
      { id: 'only-b', rule: { trait: 'b' } },
      { id: 'not-b', rule: { not: { trait: 'b', atLeast: 3 } } },
    ]);
    const v = visitor(engine);
    expect(v.call(at(0), A())).toEqual(['not-b']);
  });
});

describe('frequency and recency on UTC day buckets', () => {
  const engine = engineFor([
    { id: 'a-3x-7d', rule: { trait: 'a', atLeast: 3, withinDays: 7 } },
    { id: 'a-today', rule: { trait: 'a', withinDays: 1 } },
  ]);

  it('"at least 3 times in the last 7 days": holds while 3 events are within the window, not after', () => {
    const v = visitor(engine);
    expect(v.call(at(0), A())).toEqual(['a-today']);
    expect(v.call(at(3), A())).toEqual(['a-today']);
    expect(v.call(at(6), A())).toEqual(['a-3x-7d', 'a-today']);
    expect(v.call(at(6, 23, 59, 59, 999))).toEqual(['a-3x-7d', 'a-today']);
    // Day 7: the day-0 event is 7 days back, outside "the last 7 days" (today and the 6 before).
    expect(v.call(at(7, 0))).toEqual([]);
    expect(v.call(at(7, 1), A())).toEqual(['a-3x-7d', 'a-today']);
  });

  it('bucket borders: 23:59:59.999 and 00:00:00.000 are different days', () => {
    const v = visitor(engine);
    v.call(at(0, 23, 59, 59, 999), A());
    expect(v.call(at(0, 23, 59, 59, 999))).toEqual(['a-today']);
    expect(v.call(at(1, 0))).toEqual([]);
    v.call(at(1, 0), A());
    expect([...v.profile.traits.get('a')!]).toEqual([
      [Math.floor(at(0) / DAY_MS), 1],
      [Math.floor(at(1) / DAY_MS), 1],
    ]);
  });

  it('counts within a bucket are exact: several events on one day', () => {
    const v = visitor(engine);
    expect(v.call(at(2, 8), A(), A())).toEqual(['a-today']);
    expect(v.call(at(2, 9), A())).toEqual(['a-3x-7d', 'a-today']);
    expect(v.profile.traits.get('a')!.get(Math.floor(at(2) / DAY_MS))).toBe(3);
  });

  it('buckets stay bounded: nothing older than the longest window is kept', () => {
    const v = visitor(engine);
    for (let day = 0; day < 100; day++) v.call(at(day), A(), B());
    expect(engine.keepDays).toBe(30); // ttlDays is the default window and the longest here
    expect(v.profile.traits.get('a')!.size).toBe(30);
    expect(Math.min(...v.profile.traits.get('a')!.keys())).toBe(Math.floor(at(70) / DAY_MS));
  });

  it('a bucket after today (another server whose clock runs ahead) is kept, and counts when its day comes', () => {
    const v = visitor(engine);
    v.call(at(5, 0, 0, 1), A());
    expect(v.call(at(4, 23, 59, 59))).toEqual([]);
    expect(v.profile.traits.get('a')!.size).toBe(1);
    expect(v.call(at(5, 1))).toEqual(['a-today']);
  });
});

describe('segment TTL: without new matching events a segment expires after ttlDays', () => {
  it('a trait reference without withinDays looks back ttlDays days', () => {
    const engine = engineFor([{ id: 's', rule: { trait: 'a' } }], 30);
    const v = visitor(engine);
    expect(v.call(at(0, 23, 59), A())).toEqual(['s']);
    expect(v.call(at(29, 23, 59))).toEqual(['s']);
    expect(v.call(at(30, 0))).toEqual([]);
    expect(v.profile.traits.size).toBe(0); // and the expired buckets are gone
  });

  it('a fractional ttlDays rounds up to whole days', () => {
    const engine = engineFor([{ id: 's', rule: { trait: 'a' } }], 0.5);
    expect(engine.keepDays).toBe(1);
    const v = visitor(engine);
    expect(v.call(at(0, 1), A())).toEqual(['s']);
    expect(v.call(at(1, 0))).toEqual([]);
  });

  it('the profile may be forgotten once every window and the de-duplication window have passed', () => {
    const engine = engineFor([{ id: 's', rule: { trait: 'a', withinDays: 90 } }], 30);
    expect(engine.keepDays).toBe(90);
    const v = visitor(engine);
    v.call(at(0, 6), A());
    expect(v.last.expiresAt).toBe(DAY0 + 90 * DAY_MS);
    const short = visitor(engineFor([{ id: 's', rule: { trait: 'a' } }], 1));
    short.call(at(0, 6), A());
    expect(short.last.expiresAt).toBe(at(0, 6) + 7 * DAY_MS); // the 7-day de-duplication window is longer
  });

  it('traits the rules no longer define are dropped from the profile', () => {
    const v = visitor(engineFor([]));
    v.call(at(0), A(), B());
    const fewer = compileRules(
      parseRules({ traits: [{ id: 'a', where: { signal: 'k', op: 'equals', value: 'a' } }], segments: [] }),
    );
    const after = applyEvents(fewer, v.profile, [], at(0));
    expect([...after.profile.traits.keys()]).toEqual(['a']);
  });
});

describe('qualification changes, for a delivery outbox', () => {
  it('entered and exited segments, computed against the stored segments', () => {
    const engine = engineFor([
      { id: 'a', rule: { trait: 'a', withinDays: 1 } },
      { id: 'b', rule: { trait: 'b' } },
    ]);
    const v = visitor(engine);
    v.call(at(0), A());
    expect(v.last.changes).toEqual({ entered: ['a'], exited: [] });
    v.call(at(1), B());
    expect(v.last.changes).toEqual({ entered: ['b'], exited: ['a'] });
    v.call(at(1));
    expect(v.last.changes).toEqual({ entered: [], exited: [] });
  });
});

describe('de-duplication by event id', () => {
  const engine = engineFor([{ id: 'pv3', rule: { trait: 'pv', atLeast: 3 } }]);

  it('a resent id is acked, not counted; the same id twice in one call counts once', () => {
    const v = visitor(engine);
    const first = page({}, 'id-1');
    v.call(at(0), first);
    v.call(at(0), first);
    expect(v.last).toMatchObject({ ack: ['id-1'], counted: 0, duplicates: 1 });
    v.call(at(0), page({}, 'id-2'), page({}, 'id-2'), first);
    expect(v.last).toMatchObject({ ack: ['id-2', 'id-1'], counted: 1, duplicates: 1, segments: [] });
    expect(v.call(at(0), page({}, 'id-3'))).toEqual(['pv3']);
  });

  it('the window: ids are remembered for 7 days, and at most 500 per visitor (oldest forgotten first)', () => {
    const v = visitor(engine);
    v.call(at(0), page({}, 'old'));
    v.call(at(6, 23), page({}, 'old'));
    expect(v.last.counted).toBe(0);
    v.call(at(7, 13), page({}, 'old')); // more than 7 days after it was counted
    expect(v.last.counted).toBe(1);

    const many = visitor(engine);
    many.call(at(0), ...Array.from({ length: 100 }, (_, i) => page({}, `x${i}`)));
    for (let c = 1; c < 6; c++) many.call(at(0), ...Array.from({ length: 100 }, (_, i) => page({}, `y${c}-${i}`)));
    expect(many.profile.seen.size).toBe(500);
    expect(many.profile.seen.has(eventKey('x99'))).toBe(false);
    expect(many.profile.seen.has(eventKey('y1-0'))).toBe(true);
    many.call(at(0), page({}, 'y1-0'), page({}, 'x0'));
    expect(many.last).toMatchObject({ counted: 1, duplicates: 1 });
  });

  it('events without an id (/event calls) are always counted and never remembered', () => {
    const v = visitor(engine);
    v.call(at(0), page({}, ''), page({}, ''));
    expect(v.last).toMatchObject({ ack: [], counted: 2 });
    expect(v.profile.seen.size).toBe(0);
  });
});

describe('private signals', () => {
  it('qualify, but neither their names nor values reach the stored profile', () => {
    const engine = compileRules(
      parseRules({
        traits: [{ id: 'known-domain', where: { signal: 'p_email_domain', op: 'equals', value: 'example.com' } }],
        segments: [{ id: 'known', rule: { trait: 'known-domain' } }],
      }),
    );
    const applied = applyEvents(
      engine,
      undefined,
      [page({ p_email_domain: 'example.com', p_name: 'Jane Private' })],
      at(0),
    );
    expect(applied.segments).toEqual(['known']);
    expect(encodeProfile(applied.profile)).not.toMatch(/p_|example\.com|Jane/);
  });
});

describe('the trait index finds exactly what checking every trait finds', () => {
  const traits = [
    { id: 'eq-s', where: { signal: 's', op: 'equals', value: 'x' } },
    { id: 'eq-n', where: { signal: 'n', op: 'equals', value: 5 } },
    { id: 'eq-ns', where: { signal: 'n', op: 'equals', value: '5' } },
    { id: 'eq-b', where: { signal: 'b', op: 'equals', value: true } },
    { id: 'in', where: { signal: 's', op: 'in', value: ['x', 'y', 'y', 3] } },
    { id: 'contains', where: { signal: 's', op: 'contains', value: 'x' } },
    { id: 'prefix', where: { signal: 's', op: 'prefix', value: 'y' } },
    { id: 'gt', where: { signal: 'n', op: 'gt', value: 3 } },
    { id: 'lte', where: { signal: 'n', op: 'lte', value: 3 } },
    { id: 'exists', where: { signal: 'b', op: 'exists' } },
    { id: 'event', where: { event: 'play' } },
    { id: 'event-signal', where: { event: 'play', signal: 's', op: 'equals', value: 'x' } },
    { id: 'track', where: { type: 'track' } },
    { id: 'page', where: { type: 'page' } },
    { id: 'path', where: { pathPrefix: '/news/' } },
    { id: 'page-path', where: { type: 'page', pathPrefix: '/news/' } },
    { id: 'proto', where: { signal: '__proto__', op: 'exists' } },
    { id: 'ctor', where: { signal: 'constructor', op: 'equals', value: 'x' } },
  ];
  const rules = parseRules({ traits, segments: [] });
  const engine = compileRules(rules);
  const values = ['x', 'y', 'yx', 'z', 5, '5', 3, 2, 7, true, false, ['x', 'y'], ['y', 'y'], ['z']];
  const keys = ['s', 'n', 'b', '__proto__', 'constructor', 'other'];
  let seed = 7;
  const rand = (k: number) => ((seed = (seed * 48271) % 2147483647), seed % k);

  it('on 2,000 generated events', () => {
    for (let i = 0; i < 2000; i++) {
      const signals: WireEvent['signals'] = Object.create(null);
      for (let j = rand(4); j > 0; j--) signals[keys[rand(keys.length)]] = values[rand(values.length)] as never;
      const url = ['https://p.example/news/1', 'https://p.example/sport', 'not a url'][rand(3)];
      const event: WireEvent = rand(2)
        ? { ...page(signals), url }
        : { ...track(['play', 'stop'][rand(2)], signals), url };
      const indexed = engine.traitsFor(event).sort();
      const scanned = rules.traits
        .filter((t) => matchesWhere(t.where, event))
        .map((t) => t.id)
        .sort();
      expect(indexed).toEqual(scanned);
    }
  });
});

describe('segments at scale', () => {
  it('1,000 segments over 200 traits answer the same as evaluating every rule, for varied visitors', () => {
    const traits = Array.from({ length: 200 }, (_, i) => ({
      id: `t${i}`,
      where: { signal: `c_k${i % 50}`, op: 'equals', value: `v${i}` },
    }));
    const segments = Array.from({ length: 1000 }, (_, i) => {
      const t = (k: number) => ({
        trait: `t${(i * 7 + k) % 200}`,
        atLeast: 1 + (k % 2),
        withinDays: 1 + ((i + k) % 10),
      });
      const rule = [t(0), { and: [t(1), t(2)] }, { or: [t(3), { not: t(4) }] }, { not: { or: [t(5), t(6)] } }][i % 4];
      return { id: `s${i}`, rule };
    });
    const rules = parseRules({ traits, segments });
    const engine = compileRules(rules);
    const naive = (profile: Profile, today: number) => {
      const count = (trait: string, days: number) =>
        [...(profile.traits.get(trait) ?? [])]
          .filter(([d]) => d > today - days && d <= today)
          .reduce((a, [, c]) => a + c, 0);
      const holds = (r: Rule): boolean =>
        'trait' in r
          ? count(r.trait, r.withinDays ?? 30) >= r.atLeast
          : 'and' in r
            ? r.and.every(holds)
            : 'or' in r
              ? r.or.some(holds)
              : !holds(r.not);
      return rules.segments.filter((s) => holds(s.rule)).map((s) => s.id);
    };
    for (let visitorNo = 0; visitorNo < 30; visitorNo++) {
      const v = visitor(engine);
      for (let day = 0; day < 12; day++) {
        const events = Array.from({ length: (visitorNo + day) % 5 }, (_, e) => {
          const t = (visitorNo * 13 + day * 5 + e * 31) % 200;
          return page({ [`c_k${t % 50}`]: `v${t}` });
        });
        const segs = v.call(at(day), ...events);
        expect(segs).toEqual(naive(v.profile, Math.floor(at(day) / DAY_MS)));
      }
    }
  });
});
