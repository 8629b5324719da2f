import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { WireEvent } from 'segtag/protocol';
import { compileRules } from '../src/rules/compile';
import { matchesWhere } from '../src/rules/match';
import { loadRules, parseRules, RulesError } from '../src/rules/parse';
import type { Where } from '../src/rules/types';
import { applyEvents } from '../src/profiles/apply';
import type { Profile } from '../src/profiles/profile';
import { page, track } from './support/events';

const EXAMPLE = fileURLToPath(new URL('../examples/segments.json', import.meta.url));

/** The problems parseRules reports for a file, or [] when it is valid. */
function problemsOf(file: unknown): string[] {
  try {
    parseRules(file);
    return [];
  } catch (e) {
    if (e instanceof RulesError) return e.problems;
    throw e;
  }
}

const trait = (where: unknown, id = 't') => ({ id, where });
const fileWith = (traits: unknown[], segments: unknown[] = []) => ({ traits, segments });

describe('the example rules file', () => {
  it('loads and validates', () => {
    const rules = loadRules(EXAMPLE);
    expect(rules.ttlDays).toBe(30);
    expect(rules.dcs).toEqual({ cookieName: 'aam', key: 'seg', visitorCookie: 'demdex' });
    expect(rules.traits.map((t) => t.id)).toEqual(['sports-reader', 'f1-video', 'page-view']);
    expect(rules.segments.map((s) => s.id)).toEqual(['1001', '1002', '1003', '1004', '1005']);
  });

  it('answers the documented segments, in file order', () => {
    const engine = compileRules(loadRules(EXAMPLE));
    const now = Date.UTC(2030, 0, 1);
    let profile: Profile | undefined;
    const call = (...events: WireEvent[]) => {
      const applied = applyEvents(engine, profile, events, now);
      profile = applied.profile;
      return applied.segments;
    };
    expect(call(page({ c_section: 'sports' }))).toEqual(['1001', '1004']);
    expect(call(track('video_start', { c_genre: 'f1-highlights' }), page(), page())).toEqual([
      '1001',
      '1002',
      '1003',
      '1004',
    ]);
    profile = undefined;
    expect(call(track('video_start', { c_genre: 'f1' }))).toEqual(['1002', '1004']);
  });
});

describe('trait conditions', () => {
  const where = (w: Where) => parseRules(fileWith([trait(w)])).traits[0].where;
  const matches = (w: Where, e: WireEvent) => matchesWhere(where(w), e);

  it('equals: same type and value only', () => {
    expect(matches({ signal: 's', op: 'equals', value: 'sports' }, page({ s: 'sports' }))).toBe(true);
    expect(matches({ signal: 's', op: 'equals', value: 'sports' }, page({ s: 'Sports' }))).toBe(false);
    expect(matches({ signal: 's', op: 'equals', value: 5 }, page({ s: 5 }))).toBe(true);
    expect(matches({ signal: 's', op: 'equals', value: 5 }, page({ s: '5' }))).toBe(false);
    expect(matches({ signal: 's', op: 'equals', value: true }, page({ s: true }))).toBe(true);
    expect(matches({ signal: 's', op: 'equals', value: 'x' }, page({}))).toBe(false);
    // A multi-valued signal equals when one of its values does.
    expect(matches({ signal: 's', op: 'equals', value: 'b' }, page({ s: ['a', 'b'] }))).toBe(true);
  });

  it('in: membership of the rule value list', () => {
    const w: Where = { signal: 's', op: 'in', value: ['news', 'sports', 7] };
    expect(matches(w, page({ s: 'sports' }))).toBe(true);
    expect(matches(w, page({ s: 7 }))).toBe(true);
    expect(matches(w, page({ s: 'weather' }))).toBe(false);
    expect(matches(w, page({ s: ['weather', 'news'] }))).toBe(true);
  });

  it('contains: substring of a string, membership of a string[]', () => {
    const w: Where = { signal: 'g', op: 'contains', value: 'f1' };
    expect(matches(w, page({ g: 'motor-f1-live' }))).toBe(true);
    expect(matches(w, page({ g: 'motor' }))).toBe(false);
    expect(matches(w, page({ g: ['rally', 'f1'] }))).toBe(true);
    expect(matches(w, page({ g: ['f1-live'] }))).toBe(false); // membership, not substring
    expect(matches(w, page({ g: 1 }))).toBe(false);
  });

  it('prefix', () => {
    const w: Where = { signal: 'p', op: 'prefix', value: 'sport' };
    expect(matches(w, page({ p: 'sports/f1' }))).toBe(true);
    expect(matches(w, page({ p: 'esports' }))).toBe(false);
    expect(matches(w, page({ p: ['news', 'sport'] }))).toBe(true);
  });

  it('gt, gte, lt, lte compare numbers only', () => {
    const n = (op: 'gt' | 'gte' | 'lt' | 'lte', value: number, s: WireEvent['signals']['x']) =>
      matches({ signal: 'x', op, value }, page({ x: s }));
    expect([n('gt', 3, 4), n('gt', 3, 3), n('gte', 3, 3), n('gte', 3, 2)]).toEqual([true, false, true, false]);
    expect([n('lt', 3, 2), n('lt', 3, 3), n('lte', 3, 3), n('lte', 3, 4)]).toEqual([true, false, true, false]);
    expect(n('gt', 3, '10')).toBe(false);
    expect(n('gt', 3, true)).toBe(false);
    expect(n('lt', 3, ['1'])).toBe(false);
  });

  it('exists: the signal is present, whatever its value', () => {
    const w: Where = { signal: 'c_user', op: 'exists' };
    expect(matches(w, page({ c_user: false }))).toBe(true);
    expect(matches(w, page({ c_user: '' }))).toBe(true);
    expect(matches(w, page({ other: 1 }))).toBe(false);
  });

  it('signals inherited from Object.prototype do not exist', () => {
    expect(matches({ signal: 'constructor', op: 'exists' }, page({}))).toBe(false);
    expect(matches({ signal: 'toString', op: 'exists' }, page({}))).toBe(false);
  });

  it('type, event and pathPrefix', () => {
    expect(matches({ type: 'page' }, page())).toBe(true);
    expect(matches({ type: 'page' }, track('x'))).toBe(false);
    expect(matches({ type: 'track' }, track('x'))).toBe(true);
    expect(matches({ event: 'video_start' }, track('video_start'))).toBe(true);
    expect(matches({ event: 'video_start' }, track('video_end'))).toBe(false);
    expect(matches({ event: 'video_start' }, { ...page(), name: 'video_start' })).toBe(false);
    expect(matches({ pathPrefix: '/news/' }, page({}, undefined, 'https://pub.example/news/a?x=1'))).toBe(true);
    expect(matches({ pathPrefix: '/news/' }, page({}, undefined, 'https://pub.example/sport/news/'))).toBe(false);
    expect(matches({ pathPrefix: '/news/' }, page({}, undefined, '::not a url::'))).toBe(false);
  });

  it('every condition given must hold', () => {
    const w: Where = { type: 'track', event: 'video_start', pathPrefix: '/v/', signal: 'g', op: 'equals', value: 'f1' };
    const ok: WireEvent = { ...track('video_start', { g: 'f1' }), url: 'https://p.example/v/1' };
    expect(matches(w, ok)).toBe(true);
    expect(matches(w, { ...ok, url: 'https://p.example/x/1' })).toBe(false);
    expect(matches(w, { ...ok, signals: { g: 'f2' } })).toBe(false);
    expect(matches(w, { ...ok, name: 'video_end' })).toBe(false);
  });
});

describe('rules validation names the trait or segment and the problem', () => {
  const pv = trait({ type: 'page' }, 'pv');

  it('accepts a minimal file and defaults ttlDays to 30', () => {
    expect(parseRules(fileWith([pv], [{ id: '1', rule: { trait: 'pv' } }])).ttlDays).toBe(30);
  });

  it.each([
    ['an unknown trait', { id: '1003', rule: { trait: 'pageview' } }, 'segment "1003": rule: unknown trait "pageview"'],
    [
      'an unknown trait deep inside',
      { id: 'x', rule: { or: [{ trait: 'pv' }, { not: { trait: 'nope' } }] } },
      'segment "x": rule.or[1].not: unknown trait "nope"',
    ],
    ['a bad id', { id: '10 03', rule: { trait: 'pv' } }, 'segments[0]: id "10 03" must be a string matching'],
    ['a missing id', { rule: { trait: 'pv' } }, 'segments[0]: id undefined must be a string matching'],
    [
      'atLeast 0',
      { id: 's', rule: { trait: 'pv', atLeast: 0 } },
      'segment "s": rule.atLeast: must be a whole number in [1, 1000000], got 0',
    ],
    [
      'atLeast 1.5',
      { id: 's', rule: { trait: 'pv', atLeast: 1.5 } },
      'segment "s": rule.atLeast: must be a whole number in [1, 1000000]',
    ],
    [
      'withinDays 0',
      { id: 's', rule: { trait: 'pv', withinDays: 0 } },
      'segment "s": rule.withinDays: must be a whole number of days in [1, 400], got 0',
    ],
    [
      'withinDays 401',
      { id: 's', rule: { trait: 'pv', withinDays: 401 } },
      'segment "s": rule.withinDays: must be a whole number of days in [1, 400], got 401',
    ],
    [
      'withinDays "7"',
      { id: 's', rule: { trait: 'pv', withinDays: '7' } },
      'segment "s": rule.withinDays: must be a whole number of days',
    ],
    [
      'withinDays deep inside',
      { id: 's', rule: { and: [{ trait: 'pv' }, { not: { trait: 'pv', withinDays: 2.5 } }] } },
      'segment "s": rule.and[1].not.withinDays: must be a whole number',
    ],
    ['an empty and', { id: 's', rule: { and: [] } }, 'segment "s": rule.and: must be a non-empty array'],
    [
      'two forms at once',
      { id: 's', rule: { trait: 'pv', or: [] } },
      'segment "s": rule: needs exactly one of trait, and, or, not',
    ],
    ['no form', { id: 's', rule: { any: [] } }, 'segment "s": rule: needs exactly one of trait, and, or, not'],
    ['a missing rule', { id: 's' }, 'segment "s": rule: must be an object'],
    ['an unknown key', { id: 's', rule: { trait: 'pv', atleast: 3 } }, 'segment "s": rule: unknown key "atleast"'],
    ['an unknown segment key', { id: 's', rule: { trait: 'pv' }, priority: 1 }, 'segment "s": unknown key "priority"'],
  ])('segment with %s', (_name, segment, problem) => {
    const problems = problemsOf(fileWith([pv], [segment]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it.each([
    [
      'an unknown op',
      { signal: 's', op: 'contain', value: 'x' },
      'trait "t": where.op: unknown op "contain" (expected one of equals, in, contains',
    ],
    ['a missing op', { signal: 's', value: 'x' }, 'trait "t": where.op: unknown op undefined'],
    ['op without signal', { op: 'exists' }, 'trait "t": where.signal: must be a signal name'],
    [
      'in with a string',
      { signal: 's', op: 'in', value: 'x' },
      'trait "t": where.value: op "in" needs a non-empty array, got "x"',
    ],
    ['gt with a string', { signal: 's', op: 'gt', value: '3' }, 'trait "t": where.value: op "gt" needs a number'],
    [
      'exists with a value',
      { signal: 's', op: 'exists', value: 1 },
      'trait "t": where.value: op "exists" needs no value',
    ],
    [
      'contains with an empty string',
      { signal: 's', op: 'contains', value: '' },
      'op "contains" needs a non-empty string',
    ],
    [
      'equals with an object',
      { signal: 's', op: 'equals', value: {} },
      'op "equals" needs a string, number or boolean',
    ],
    ['a bad type', { type: 'click' }, 'trait "t": where.type: must be "page" or "track", got "click"'],
    ['event on page events', { type: 'page', event: 'x' }, 'trait "t": where: "event" matches track events only'],
    [
      'a relative pathPrefix',
      { pathPrefix: 'news' },
      'trait "t": where.pathPrefix: must be a string starting with "/"',
    ],
    ['no condition', {}, 'trait "t": where: needs at least one condition'],
    ['a misspelt key', { type: 'page', sigal: 's' }, 'trait "t": where: unknown key "sigal"'],
  ])('trait with %s', (_name, where, problem) => {
    const problems = problemsOf(fileWith([trait(where)]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it('duplicate ids', () => {
    expect(problemsOf(fileWith([pv, pv]))).toEqual(['trait "pv": duplicate id']);
    const s = { id: '1', rule: { trait: 'pv' } };
    expect(problemsOf(fileWith([pv], [s, s]))).toEqual(['segment "1": duplicate id']);
  });

  it('a segment naming an invalid trait reports both, by name', () => {
    const problems = problemsOf(fileWith([trait({ op: 'nope' }, 'bad')], [{ id: '7', rule: { trait: 'bad' } }]));
    expect(problems).toEqual([
      expect.stringContaining('trait "bad": where.signal'),
      'segment "7": rule: unknown trait "bad"',
    ]);
  });

  it('rules nested absurdly deep', () => {
    let rule: object = { trait: 'pv' };
    for (let i = 0; i < 40; i++) rule = { not: rule };
    expect(problemsOf(fileWith([pv], [{ id: 'deep', rule }]))[0]).toMatch(
      /^segment "deep": rule(\.not)+: nested deeper than 16$/,
    );
  });

  it('file-level problems, all reported at once', () => {
    expect(problemsOf([])).toEqual(['the file must be a JSON object']);
    expect(problemsOf({ ttlDays: 500, traits: {}, segments: null, extra: 1 })).toEqual([
      'file: unknown key "extra"',
      'ttlDays: must be a number of days in (0, 400], got 500',
      'traits: must be an array',
      'segments: must be an array',
    ]);
  });

  it('the error message lists the problems and names the file', () => {
    expect(() => parseRules(fileWith([pv], [{ id: '9', rule: { trait: 'x' } }]), 'my.json')).toThrow(
      'invalid rules in my.json:\n  - segment "9": rule: unknown trait "x"',
    );
  });

  it('loadRules reports unreadable and non-JSON files', () => {
    expect(() => loadRules('/nonexistent/rules.json')).toThrow(/cannot read the file: ENOENT/);
    expect(() => loadRules(fileURLToPath(import.meta.url))).toThrow(/not valid JSON/);
  });

  it('copies known fields only', () => {
    const rules = parseRules({
      description: 'x',
      traits: [{ id: 'pv', name: 'Page views', description: 'd', where: { type: 'page' } }],
      segments: [{ id: '1', name: 'One', description: 'd', rule: { trait: 'pv' } }],
    });
    expect(rules).toEqual({
      ttlDays: 30,
      traits: [{ id: 'pv', name: 'Page views', where: { type: 'page' } }],
      segments: [{ id: '1', name: 'One', rule: { trait: 'pv', atLeast: 1 } }],
      dcs: { cookieName: 'aam', key: 'seg', visitorCookie: 'demdex' },
      partners: [],
      urlDestinations: [],
    });
  });

  it('the dcs block: cookie name, key, domain and region for /event answers', () => {
    const ok = parseRules({
      ...fileWith([]),
      dcs: { cookieName: 'seg_cookie', key: 'aud', domain: '.example.com', region: 7 },
    });
    expect(ok.dcs).toEqual({
      cookieName: 'seg_cookie',
      key: 'aud',
      domain: '.example.com',
      region: 7,
      visitorCookie: 'demdex',
    });
    expect(
      problemsOf({ ...fileWith([]), dcs: { cookieName: 'a b', key: '1x', domain: 'exa mple', region: -1, extra: 1 } }),
    ).toEqual([
      'dcs: unknown key "extra"',
      'dcs.cookieName: must match /^[A-Za-z0-9_.-]{1,64}$/, got "a b"',
      'dcs.key: must match /^[A-Za-z_][A-Za-z0-9_]{0,19}$/, got "1x"',
      'dcs.domain: must be a domain name, got "exa mple"',
      'dcs.region: must be a whole number >= 0, got -1',
    ]);
    expect(problemsOf({ ...fileWith([]), dcs: 'aam' })).toEqual(['dcs: must be an object']);
  });
});
