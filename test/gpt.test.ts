// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { applyGpt, gptCommand, type GoogletagLike } from '../src/integrations/gpt';
import { gamTargeting } from '../src/integrations/gam-rules';
import type { Targeting } from '../src/types';

/** A recording googletag whose command queue is an array until `load()` runs it, like GPT. */
function fakeGoogletag() {
  const calls: unknown[][] = [];
  const target = (name: string) => ({
    setTargeting: (k: string, v: string | string[]) => void calls.push([name, 'set', k, v]),
    clearTargeting: (k?: string) => void calls.push([name, 'clear', k]),
  });
  const pubads = { ...target('page'), refresh: (slots?: unknown) => void calls.push(['page', 'refresh', slots]) };
  const g = { cmd: [] as Array<() => void>, pubads: () => pubads } as GoogletagLike & { cmd: Array<() => void> };
  const load = () => {
    const queued = g.cmd;
    g.cmd = { push: (...fns: Array<() => void>) => fns.forEach((f) => f()) } as never;
    queued.forEach((f) => f());
  };
  return { g, calls, load, slot: target };
}

afterEach(() => {
  delete (window as any).googletag;
  vi.restoreAllMocks();
});

describe('GAM key-value rules', () => {
  it('drops keys over 20 characters, starting with a digit, with spaces or reserved characters', () => {
    const t = gamTargeting({
      ['k'.repeat(20)]: ['1'],
      ['k'.repeat(21)]: ['1'],
      '1k': ['1'],
      'a b': ['1'],
      'a=b': ['1'],
      _ok: ['1'],
    });
    expect(Object.keys(t)).toEqual(['k'.repeat(20), '_ok']);
  });

  it('drops values over 40 characters or with a reserved character or a comma, never repairs them', () => {
    const reserved = `"'=!+#*~;^()<>[],`.split('').map((c) => `a${c}b`);
    const t = gamTargeting({ seg: ['v'.repeat(40), 'v'.repeat(41), ...reserved, '', 'a b', 'x.y:z-1_2'] });
    expect(t).toEqual({ seg: ['v'.repeat(40), 'a b', 'x.y:z-1_2'] });
    expect(gamTargeting({ seg: ['v'.repeat(41)] })).toEqual({});
  });

  it('warns about every drop only in debug', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    gamTargeting({ seg: ['ok', 'x(y)'] });
    expect(warn).not.toHaveBeenCalled();
    gamTargeting({ seg: ['ok', 'x(y)'] }, true);
    expect(warn).toHaveBeenCalledWith('segtag: GAM rules drop', 'seg', 'x(y)');
  });

  it('drops a __proto__ key (as JSON.parse makes it) with the debug warning, never setting the prototype', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = gamTargeting(JSON.parse('{"__proto__":["1","2"],"seg":["3"]}'), true);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(['seg']);
    const keys: string[] = [];
    for (const key in t) keys.push(key);
    expect(keys).toEqual(['seg']);
    expect(warn.mock.calls).toEqual([
      ['segtag: GAM rules drop', '__proto__', '1'],
      ['segtag: GAM rules drop', '__proto__', '2'],
    ]);
  });

  it('output always obeys the rules and keeps input order (property)', () => {
    const str = fc.string({ unit: fc.constantFrom(...`ab1 _-"'=!+#*~;^()<>[],.:`.split('')), maxLength: 45 });
    fc.assert(
      fc.property(fc.dictionary(str, fc.array(str, { maxLength: 8 })), (input) => {
        const out = gamTargeting(input);
        for (const [k, values] of Object.entries(out)) {
          expect(k.length).toBeLessThanOrEqual(20);
          expect(k).not.toMatch(/^\d|[\s"'=!+#*~;^()<>[\],]/);
          expect(values.length).toBeGreaterThan(0);
          for (const v of values) expect(v).toMatch(/^[^"'=!+#*~;^()<>[\],]{1,40}$/);
          expect(values).toEqual(input[k].filter((v) => values.includes(v)));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('applyGpt', () => {
  it('queues page-level targeting on googletag.cmd before GPT loads', () => {
    const { g, calls, load } = fakeGoogletag();
    applyGpt({ seg: ['1', '2'], empty: [] }, g);
    expect(calls).toEqual([]);
    load();
    expect(calls).toEqual([['page', 'set', 'seg', ['1', '2']]]);
  });

  it('creates window.googletag with a command queue when the page has none', () => {
    applyGpt({ seg: ['1'] });
    expect((window as any).googletag.cmd).toHaveLength(1);
  });

  it('sets slot-level targeting on the given slots instead of page-level', () => {
    const { g, calls, load, slot } = fakeGoogletag();
    load();
    applyGpt({ seg: ['1'] }, g, { slots: [slot('top'), slot('side')] });
    expect(calls).toEqual([
      ['top', 'set', 'seg', ['1']],
      ['side', 'set', 'seg', ['1']],
    ]);
  });

  it('refresh: loads the held ads once, after the targeting (disableInitialLoad recipe)', () => {
    const { g, calls, load, slot } = fakeGoogletag();
    load();
    applyGpt({ seg: ['1'] }, g, { refresh: true });
    const top = slot('top');
    applyGpt({ seg: ['2'] }, g, { refresh: true, slots: [top] });
    expect(calls).toEqual([
      ['page', 'set', 'seg', ['1']],
      ['page', 'refresh', undefined],
      ['top', 'set', 'seg', ['2']],
      ['page', 'refresh', [top]],
    ]);
  });

  it('follow: re-applies fresher segments, clears vanished keys, never refreshes again, and stops', () => {
    const { g, calls, load } = fakeGoogletag();
    load();
    let listener: (t: Targeting) => void = () => {};
    const unsubscribe = vi.fn();
    const tag = { onSegments: (l: (t: Targeting) => void) => ((listener = l), unsubscribe) };
    const stop = applyGpt({ seg: ['old'] }, g, { refresh: true, follow: tag });
    listener({ seg: ['new', 'x'.repeat(41)] });
    listener({});
    expect(calls).toEqual([
      ['page', 'set', 'seg', ['old']],
      ['page', 'refresh', undefined],
      ['page', 'set', 'seg', ['new']],
      ['page', 'clear', 'seg'],
    ]);
    expect(stop).toBe(unsubscribe);
  });

  it('never sets what GAM would drop', () => {
    const { g, calls, load } = fakeGoogletag();
    load();
    applyGpt({ ['k'.repeat(21)]: ['1'], seg: ['a(b', 'ok'] }, g);
    expect(calls).toEqual([['page', 'set', 'seg', ['ok']]]);
  });

  it('sets no key for a __proto__ key of the targeting, nor for what the prototype would hold', () => {
    const { g, calls, load } = fakeGoogletag();
    load();
    applyGpt(JSON.parse('{"__proto__":["1"],"seg":["2"]}'), g);
    expect(calls).toEqual([['page', 'set', 'seg', ['2']]]);
  });
});

describe('gptCommand (the script tag)', () => {
  it('sets page-level targeting, drops values over 40 characters, and refreshes on request', () => {
    const { g, calls, load } = fakeGoogletag();
    (window as any).googletag = g;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    gptCommand({ seg: ['1', 'v'.repeat(41)] }, true, true);
    load();
    expect(calls).toEqual([
      ['page', 'set', 'seg', ['1']],
      ['page', 'refresh', undefined],
    ]);
    expect(warn).toHaveBeenCalledWith('segtag: GAM rules drop', 'seg', 'v'.repeat(41));
  });
});
