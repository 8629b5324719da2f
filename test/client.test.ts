import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient as create, UID_COOKIE } from './support/client';
import { resolveConfig } from '../src/core/config';
import type { Segtag } from '../src/types';
import { fakePlatform } from './fake-platform';

// Every client is destroyed after its test, so no retry timer outlives it.
const tags: Segtag[] = [];
const createClient = (...args: Parameters<typeof create>) => {
  const tag = create(...args);
  tags.push(tag);
  return tag;
};
afterEach(() => tags.splice(0).forEach((tag) => tag.destroy()));

const cfg = (extra = {}) => resolveConfig({ endpoint: 'https://dcs.example.com/v1/rtc', site: 'pub-1', ...extra });

describe('createClient', () => {
  afterEach(() => vi.useRealTimers());

  it('sends a protocol v1 page event and writes the segment cookie', async () => {
    const { platform, jar, sent } = fakePlatform(() => ({ status: 200, body: { segments: ['1', '2'], ttl: 7 } }));
    const tag = createClient(cfg(), platform);
    const result = await tag.page({ c_section: 'sports', n: 1, b: true, list: ['a'] });
    expect(result).toEqual({ ok: true, segments: ['1', '2'], targeting: { seg: ['1', '2'] } });
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req).toMatchObject({
      v: 1,
      site: 'pub-1',
      events: [
        {
          type: 'page',
          url: 'https://www.example.com/a',
          title: 'A',
          signals: { c_section: 'sports', n: 1, b: true, list: ['a'] },
        },
      ],
    });
    expect(req.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(req.events[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(req.events[0].id).not.toBe(req.uid);
    expect(jar.get('segtag')).toEqual({ value: 'seg=1,2', days: 7 });
    expect(jar.get(UID_COOKIE)).toEqual({ value: req.uid, days: 400 });
  });

  it('keeps the visitor id across calls and adopts a valid server uid', async () => {
    let uid: string | undefined = 'server-assigned-1';
    const { platform, jar, sent } = fakePlatform(() => ({ status: 200, body: { segments: [], uid } }));
    const tag = createClient(cfg(), platform);
    await tag.page();
    expect(jar.get(UID_COOKIE)!.value).toBe('server-assigned-1');
    uid = undefined;
    await tag.track('video_start', { c_genre: 'f1' });
    expect(sent[1].uid).toBe('server-assigned-1');
    expect(sent[1].events[0]).toMatchObject({ type: 'track', name: 'video_start' });
  });

  it('sends declared ids with later calls and never stores them', async () => {
    const { platform, jar, sent } = fakePlatform();
    const tag = createClient(cfg(), platform);
    tag.identify({ crm: 'abc' });
    tag.identify({ email: 'def' });
    await tag.page();
    expect(sent[0].ids).toEqual({ crm: 'abc', email: 'def' });
    expect(JSON.stringify([...jar.values()])).not.toContain('abc');
  });

  it('removes the segment cookie on an empty valid list', async () => {
    const { platform, jar } = fakePlatform(() => ({ status: 200, body: { segments: [] } }));
    jar.set('segtag', { value: 'seg=9', days: 30 });
    const tag = createClient(cfg(), platform);
    expect(tag.getTargeting()).toEqual({ seg: ['9'] });
    await tag.page();
    expect(jar.has('segtag')).toBe(false);
    expect(tag.getTargeting()).toEqual({});
  });

  it.each([
    ['a non-2xx status', { status: 500, body: { segments: ['x'] } }, 'HTTP 500'],
    ['a body that is not an object', { status: 200, body: 'nope' }, 'malformed response'],
    ['segments that are not an array', { status: 200, body: { segments: '1,2' } }, 'malformed response'],
  ])('leaves the cookie unchanged on %s', async (_, answer, error) => {
    const { platform, jar } = fakePlatform(() => answer);
    jar.set('segtag', { value: 'seg=9', days: 30 });
    const tag = createClient(cfg(), platform);
    const result = await tag.page();
    expect(result).toEqual({ ok: false, segments: ['9'], targeting: { seg: ['9'] }, error });
    expect(jar.get('segtag')!.value).toBe('seg=9');
  });

  it('resolves ok:false on network errors and timeouts, never rejects', async () => {
    const { platform } = fakePlatform(() => Promise.reject(new TypeError('Failed to fetch')));
    const tag = createClient(cfg(), platform);
    expect(await tag.page()).toMatchObject({ ok: false, error: 'network error' });
    const other = fakePlatform(() => Promise.reject(Object.assign(new Error('t'), { name: 'TimeoutError' })));
    const tag2 = createClient(cfg(), other.platform);
    expect(await tag2.page()).toMatchObject({ ok: false, error: 'timeout' });
  });

  it('caps the cookie at maxBytes, dropping from the end of the server order', async () => {
    const segments = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const { platform, jar } = fakePlatform(() => ({ status: 200, body: { segments } }));
    const tag = createClient(cfg({ cookie: { maxBytes: 200 } }), platform);
    const { segments: kept } = await tag.page();
    expect(kept).toEqual(segments.slice(0, kept.length));
    expect(kept.length).toBeGreaterThan(10);
    expect('segtag'.length + platform._cookies.encode(jar.get('segtag')!.value).length).toBeLessThanOrEqual(200);
  });

  it('writes no cookie at all when not even the first segment fits maxBytes', async () => {
    const { platform, jar } = fakePlatform(() => ({ status: 200, body: { segments: ['x'.repeat(64)] } }));
    jar.set('segtag', { value: 'seg=old', days: 30 });
    const tag = createClient(cfg({ cookie: { maxBytes: 64 } }), platform);
    expect(await tag.page()).toEqual({ ok: true, segments: [], targeting: {} });
    expect(jar.has('segtag')).toBe(false);
  });

  it('calls onSegments on every change only, and unsubscribes', async () => {
    let segments = ['1'];
    const { platform } = fakePlatform(() => ({ status: 200, body: { segments } }));
    const tag = createClient(cfg(), platform);
    const seen: unknown[] = [];
    const off = tag.onSegments((t) => seen.push(t));
    tag.onSegments(() => {
      throw new Error('a publisher bug');
    });
    await tag.page();
    await tag.page();
    segments = ['1', '2'];
    await tag.page();
    off();
    segments = [];
    await tag.page();
    expect(seen).toEqual([{ seg: ['1'] }, { seg: ['1', '2'] }]);
  });

  it('throws TypeErrors naming the problem for invalid arguments', () => {
    const tag = createClient(cfg(), fakePlatform().platform);
    expect(() => tag.page('sports' as any)).toThrow('segtag: invalid signals');
    expect(() => tag.page({ c: { nested: 1 } } as any)).toThrow(/signal "c"/);
    expect(() => tag.page({ n: NaN })).toThrow(/signal "n"/);
    expect(() => tag.track('')).toThrow(TypeError);
    expect(() => tag.identify({ crm: 1 } as any)).toThrow(/id "crm"/);
    expect(() => tag.ready(-1)).toThrow(/ready/);
    expect(() => tag.onSegments('x' as any)).toThrow(/onSegments/);
  });

  it('copies signals so later mutation by the page changes nothing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { platform, sent } = fakePlatform(async () => (await gate, { status: 200, body: { segments: [] } }));
    const tag = createClient(cfg(), platform);
    const signals = { list: ['a'] };
    const call = tag.page(signals);
    signals.list.push('b');
    release();
    await call;
    expect(sent[0].events[0].signals).toEqual({ list: ['a'] });
  });

  it('sends nothing after destroy', async () => {
    const { platform, sent } = fakePlatform();
    const tag = createClient(cfg(), platform);
    tag.destroy();
    expect(await tag.page()).toMatchObject({ ok: false, error: 'destroyed' });
    expect(sent).toHaveLength(0);
  });
});

describe('the fast path (issue 15)', () => {
  /** Records the order of cookie writes, storage writes and requests. */
  function traced(answer = () => ({ status: 200, body: { segments: ['1'] } })) {
    const fake = fakePlatform(answer);
    const log: string[] = [];
    const { _cookies: c, _storage: st, _post: post } = fake.platform;
    fake.platform._cookies = {
      ...c,
      set: (name, value, days) => (log.push(`cookie ${name}`), c.set(name, value, days)),
      remove: (name) => (log.push(`remove ${name}`), c.remove(name)),
    };
    fake.platform._storage = {
      get: (k) => (log.push('storage read'), st.get(k)),
      set: (k, v) => (log.push('storage'), st.set(k, v)),
      remove: (k) => (log.push('storage'), st.remove(k)),
    };
    fake.platform._post = (...args) => (log.push('request'), post(...args));
    return { ...fake, log };
  }

  it('sends the first request before reading storage or writing any cookie or storage', async () => {
    const { platform, log } = traced();
    const tag = createClient(cfg(), platform);
    await tag.page();
    expect(log.slice(0, 4)).toEqual(['request', `cookie ${UID_COOKIE}`, 'storage read', 'storage']);
  });

  it('writes the visitor id once per page, and again only when the server assigns another', async () => {
    let uid: string | undefined = undefined; // no uid in the answer at first
    const { platform, log, jar, sent } = traced(() => ({ status: 200, body: { segments: ['1'], uid } }));
    const tag = createClient(cfg(), platform);
    for (let i = 0; i < 3; i++) await tag.page();
    expect(log.filter((l) => l == `cookie ${UID_COOKIE}`)).toHaveLength(1);
    uid = 'server-assigned-1';
    await tag.page();
    await tag.page();
    expect(log.filter((l) => l == `cookie ${UID_COOKIE}`)).toHaveLength(2);
    expect(jar.get(UID_COOKIE)!.value).toBe('server-assigned-1');
    expect(sent[4].uid).toBe('server-assigned-1');
  });

  it('writes the segment cookie only when its value changes, and again when it was deleted', async () => {
    let segments = ['1', '2'];
    const { platform, log, jar } = traced(() => ({ status: 200, body: { segments } }));
    const tag = createClient(cfg(), platform);
    const writes = () => log.filter((l) => l.endsWith(' segtag'));
    await tag.page();
    await tag.page();
    expect(writes()).toEqual(['cookie segtag']);
    jar.delete('segtag'); // another script, or the browser, removed it
    await tag.page();
    expect(writes()).toEqual(['cookie segtag', 'cookie segtag']);
    segments = ['2'];
    await tag.page();
    segments = [];
    await tag.page();
    await tag.page();
    expect(writes()).toEqual(['cookie segtag', 'cookie segtag', 'cookie segtag', 'remove segtag']);
    expect(jar.has('segtag')).toBe(false);
  });
});

describe('ready(ms)', () => {
  afterEach(() => vi.useRealTimers());

  it('resolves at the ceiling with the cookie segments when the server is slow', async () => {
    vi.useFakeTimers();
    const { platform, jar } = fakePlatform(() => new Promise(() => {}));
    jar.set('segtag', { value: 'seg=cached', days: 30 });
    const tag = createClient(cfg(), platform);
    void tag.page();
    let value: unknown;
    void tag.ready(300).then((t) => (value = t));
    await vi.advanceTimersByTimeAsync(299);
    expect(value).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(value).toEqual({ seg: ['cached'] });
  });

  it('resolves as soon as the first call answers, before the ceiling', async () => {
    vi.useFakeTimers();
    const { platform } = fakePlatform(
      () => new Promise((r) => setTimeout(() => r({ status: 200, body: { segments: ['fresh'] } }), 50)),
    );
    const tag = createClient(cfg(), platform);
    void tag.page();
    let value: unknown;
    void tag.ready(1000).then((t) => (value = t));
    await vi.advanceTimersByTimeAsync(50);
    expect(value).toEqual({ seg: ['fresh'] });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('treats a failed first call as an answer and defaults to 1000 ms', async () => {
    vi.useFakeTimers();
    const { platform } = fakePlatform(() => ({ status: 503, body: undefined }));
    const tag = createClient(cfg(), platform);
    let value: unknown;
    void tag.ready().then((t) => (value = t));
    await vi.advanceTimersByTimeAsync(999);
    expect(value).toBeUndefined();
    await tag.page();
    await vi.advanceTimersByTimeAsync(0);
    expect(value).toEqual({});
  });
});
