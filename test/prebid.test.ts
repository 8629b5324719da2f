// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyPrebid, toOrtb2, type PbjsLike } from '../src/integrations/prebid';
import type { Targeting } from '../src/types';

afterEach(() => {
  delete (window as any).pbjs;
  vi.useRealTimers();
});

describe('toOrtb2', () => {
  it('builds OpenRTB user.data with the segments in order', () => {
    expect(toOrtb2({ seg: ['1', '2'] }, { name: 'example.com' })).toEqual({
      user: { data: [{ name: 'example.com', segment: [{ id: '1' }, { id: '2' }] }] },
    });
    expect(toOrtb2({ seg: ['1'], aud: ['2', '1'] }, { name: 'example.com', segtax: 4 })).toEqual({
      user: { data: [{ name: 'example.com', ext: { segtax: 4 }, segment: [{ id: '1' }, { id: '2' }] }] },
    });
  });

  it('returns {} when there are no segments, so nothing is merged', () => {
    expect(toOrtb2({}, { name: 'example.com' })).toEqual({});
    expect(toOrtb2({ seg: [] }, { name: 'example.com' })).toEqual({});
  });

  it('rejects bad options with TypeErrors', () => {
    expect(() => toOrtb2({}, undefined as any)).toThrow(TypeError);
    expect(() => toOrtb2({}, { name: '' })).toThrow(/name/);
    expect(() => toOrtb2({}, { name: 'a', segtax: 1.5 })).toThrow(/segtax/);
  });
});

/** Prebid's config semantics that matter here: mergeConfig unions arrays, setConfig replaces a topic. */
function fakePbjs() {
  let ortb2: any = { site: { page: 'p' }, user: { data: [{ name: 'other', segment: [{ id: 'o' }] }] } };
  const log: string[] = [];
  const pbjs: PbjsLike & { que: Array<() => void> } = {
    que: [],
    getConfig: () => structuredClone(ortb2),
    setConfig: ({ ortb2: o }) => void (log.push('setConfig'), (ortb2 = structuredClone(o))),
    mergeConfig: ({ ortb2: o, ...rest }) => {
      log.push('mergeConfig');
      expect(rest).toEqual({}); // only the ortb2 topic
      if (o.user) ortb2 = { ...ortb2, user: { ...ortb2.user, data: [...(ortb2.user?.data || []), ...o.user.data] } };
    },
  };
  const run = () => pbjs.que.splice(0).forEach((f) => f());
  return {
    pbjs,
    log,
    run,
    get ortb2() {
      return ortb2;
    },
  };
}

function fakeTag(answerAfter: number | null, targeting: Targeting = { seg: ['1'] }) {
  let listener: ((t: Targeting) => void) | undefined;
  return {
    ready: (ms = 1000) =>
      new Promise<Targeting>((r) => {
        setTimeout(() => r(targeting), answerAfter == null ? ms : Math.min(ms, answerAfter));
      }),
    onSegments: (l: (t: Targeting) => void) => ((listener = l), () => (listener = undefined)),
    emit: (t: Targeting) => listener?.(t),
  };
}

describe('applyPrebid', () => {
  it('queues the merge on pbjs.que after ready, keeping other providers and site data', async () => {
    const f = fakePbjs();
    const t = await applyPrebid(fakeTag(5), f.pbjs, { name: 'segtag.example', ms: 300 });
    expect(t).toEqual({ seg: ['1'] });
    expect(f.log).toEqual([]); // queued, not run: Prebid has not loaded
    f.run();
    expect(f.ortb2).toEqual({
      site: { page: 'p' },
      user: {
        data: [
          { name: 'other', segment: [{ id: 'o' }] },
          { name: 'segtag.example', segment: [{ id: '1' }] },
        ],
      },
    });
  });

  it('is a ceiling: resolves when the first call answers, not at ms', async () => {
    vi.useFakeTimers();
    const f = fakePbjs();
    let done = false;
    void applyPrebid(fakeTag(50), f.pbjs, { name: 'n', ms: 300 }).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('resolves at the ceiling when the server is slow', async () => {
    vi.useFakeTimers();
    const f = fakePbjs();
    let done = false;
    void applyPrebid(fakeTag(null), f.pbjs, { name: 'n', ms: 300 }).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(299);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('follow: replaces its own entry on fresher segments instead of appending a second one', async () => {
    const f = fakePbjs();
    const tag = fakeTag(0);
    await applyPrebid(tag, f.pbjs, { name: 'segtag.example', follow: true });
    f.run();
    tag.emit({ seg: ['2', '3'] });
    f.run();
    expect(f.ortb2.user.data).toEqual([
      { name: 'other', segment: [{ id: 'o' }] },
      { name: 'segtag.example', segment: [{ id: '2' }, { id: '3' }] },
    ]);
    tag.emit({});
    f.run();
    expect(f.ortb2.user.data).toEqual([{ name: 'other', segment: [{ id: 'o' }] }]);
  });

  it('uses window.pbjs (creating its queue) when none is given', async () => {
    await applyPrebid(fakeTag(0), undefined, { name: 'n' });
    expect((window as any).pbjs.que).toHaveLength(1);
  });

  it('throws TypeErrors synchronously for bad arguments', () => {
    expect(() => applyPrebid(fakeTag(0), undefined, { name: 'n', ms: -1 })).toThrow(/ms/);
    expect(() => applyPrebid(fakeTag(0), undefined, {} as any)).toThrow(/name/);
  });
});
