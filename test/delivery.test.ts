import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from './support/client';
import { addAutoPage } from '../src/core/auto-page';
import { resolveConfig } from '../src/core/config';
import type { KeyValueStore } from '../src/core/platform';
import type { FakeAnswer as HttpAnswer } from './fake-platform';
import { queueKey } from '../src/core/queue';
import type { Segtag } from '../src/types';
import { fakePlatform } from './fake-platform';

/**
 * The delivery pipeline through the public API, on fake timers: what goes on the wire
 * (`sent`), what is stored (`store`), and what page()/track() resolve.
 */

const KEY = queueKey('pub-1');
const ok = (body: any): HttpAnswer => ({ status: 200, body: { segments: [], ack: body.events.map((e: any) => e.id) } });
const ids = (request: any): string[] => request.events.map((e: any) => e.id);
const stored = (store: Map<string, string>) => JSON.parse(store.get(KEY) || '[]') as any[];

/**
 * localStorage as several tabs see it in Chromium: each tab reads its own copy; a write
 * lands in the shared store `lag` ms later and only then reaches the other tabs, and a tab
 * ignores others' changes to a key while its own write to it is on the way, so every copy
 * converges on the last write.
 */
function sharedStorage(backend: Map<string, string>, lag = 20) {
  const views: { copy: Map<string, string>; pending: number }[] = [];
  return (): KeyValueStore => {
    const view = { copy: new Map(backend), pending: 0 };
    views.push(view);
    /** Sets `key` in `map`, or deletes it when `value` is absent. */
    const put = (map: Map<string, string>, key: string, value?: string) => {
      if (value == null) map.delete(key);
      else map.set(key, value);
    };
    const write = (key: string, value?: string) => {
      put(view.copy, key, value);
      view.pending++;
      setTimeout(() => {
        put(backend, key, value);
        view.pending--;
        for (const other of views) if (other != view && !other.pending) put(other.copy, key, value);
      }, lag);
    };
    return { get: (key) => view.copy.get(key) ?? null, set: write, remove: (key) => write(key) };
  };
}

const tags: Segtag[] = [];
function tab(
  answer: (body: any, keepalive?: boolean) => Promise<HttpAnswer> | HttpAnswer = ok,
  config = {},
  store?: Map<string, string>,
  storage?: KeyValueStore,
) {
  const fake = fakePlatform(answer, store);
  fake.state.now = undefined; // follow the fake clock
  if (storage) fake.platform._storage = storage;
  const cfg = resolveConfig({ endpoint: '/rtc', site: 'pub-1', ...config });
  const client = createClient(cfg, fake.platform);
  // What createSegtag does when given the autoPage feature.
  const tag = cfg._autoPage ? addAutoPage(client, fake.navigation, fake.platform._context) : client;
  tags.push(tag);
  return { ...fake, tag };
}
/** A server that answers after `ms` of (fake) time. */
const slow =
  (ms: number, answer = ok) =>
  (body: any) =>
    new Promise<HttpAnswer>((r) => setTimeout(() => r(answer(body)), ms));
const never = () => new Promise<HttpAnswer>(() => {});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.parse('2026-11-28T12:00:00Z'));
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  tags.splice(0).forEach((tag) => tag.destroy());
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('batching', () => {
  it('keeps one call in flight; events raised meanwhile ride in the next call', async () => {
    const { tag, sent } = tab(slow(100));
    const first = tag.page();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    const later = [tag.track('a'), tag.track('b'), tag.track('c')];
    await vi.advanceTimersByTimeAsync(99);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await first).toMatchObject({ ok: true });
    expect(sent).toHaveLength(2);
    expect(sent[1].events.map((e: any) => e.name)).toEqual(['a', 'b', 'c']);
    await vi.advanceTimersByTimeAsync(100);
    expect((await Promise.all(later)).map((r) => r.ok)).toEqual([true, true, true]);
    expect(sent).toHaveLength(2);
  });

  it('caps a call at 50 events', async () => {
    const { tag, sent } = tab(slow(10));
    for (let i = 0; i < 120; i++) void tag.track('e' + i);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map((r) => r.events.length)).toEqual([50, 50, 20]);
    expect(sent.flatMap((r) => r.events.map((e: any) => e.name))).toEqual(
      Array.from({ length: 120 }, (_, i) => 'e' + i),
    );
  });

  it('caps a call at 10,000 characters of events (a call and a flush fit the keepalive quota)', async () => {
    const { tag, sent } = tab(slow(10));
    for (let i = 0; i < 7; i++) void tag.track('big', { c_text: 'x'.repeat(3000) });
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map((r) => r.events.length)).toEqual([3, 3, 1]);
    for (const r of sent) expect(JSON.stringify(r.events).length).toBeLessThan(10000);
  });

  it('sends an event larger than the cap alone rather than never', async () => {
    const { tag, sent } = tab();
    expect(await tag.track('huge', { c_text: 'x'.repeat(20000) })).toMatchObject({ ok: true });
    expect(sent).toHaveLength(1);
  });
});

describe('retries', () => {
  it('backs off exponentially with jitter, resending the same event ids', async () => {
    let n = 0;
    const { tag, sent } = tab((body) => (++n < 4 ? { status: 503, body: undefined } : ok(body)));
    // The first failure resolves the call; the event stays queued.
    expect(await tag.page()).toMatchObject({ ok: false, error: 'HTTP 503' });
    // Math.random() = 0.5: waits of 250, 500 and 1000 ms.
    await vi.advanceTimersByTimeAsync(249);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(60000);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((r) => ids(r).join()))).toEqual(new Set([ids(sent[0]).join()]));
  });

  it('honours Retry-After in seconds', async () => {
    let n = 0;
    const { tag, sent } = tab((body) => (++n == 1 ? { status: 429, body: undefined, retry: '5' } : ok(body)));
    expect(await tag.page()).toMatchObject({ ok: false, error: 'HTTP 429' });
    await vi.advanceTimersByTimeAsync(4999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    expect(ids(sent[1])).toEqual(ids(sent[0]));
  });

  it('honours Retry-After as an HTTP date', async () => {
    let n = 0;
    const date = new Date(Date.now() + 7000).toUTCString();
    const { tag, sent } = tab((body) => (++n == 1 ? { status: 503, body: undefined, retry: date } : ok(body)));
    await tag.page();
    await vi.advanceTimersByTimeAsync(6990);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toHaveLength(2);
  });

  it('resolves events raised while backing off at once, and sends them with the retry', async () => {
    let n = 0;
    const { tag, sent } = tab((body) => (++n == 1 ? { status: 503, body: undefined } : ok(body)));
    await tag.page();
    expect(await tag.track('meanwhile')).toMatchObject({ ok: false, error: 'HTTP 503' });
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toHaveLength(2);
    expect(sent[1].events.map((e: any) => e.type)).toEqual(['page', 'track']);
  });

  const retried: [string, () => Promise<HttpAnswer> | HttpAnswer, string][] = [
    ['408', () => ({ status: 408, body: undefined }), 'HTTP 408'],
    ['429', () => ({ status: 429, body: undefined }), 'HTTP 429'],
    ['500', () => ({ status: 500, body: { segments: [] } }), 'HTTP 500'],
    ['502', () => ({ status: 502, body: undefined }), 'HTTP 502'],
    ['a network error', () => Promise.reject(new TypeError('Failed to fetch')), 'network error'],
    ['a timeout', () => Promise.reject(new DOMException('t', 'TimeoutError')), 'timeout'],
    ['200 with garbage', () => ({ status: 200, body: 'garbage' }), 'malformed response'],
  ];
  for (const [name, failure, error] of retried) {
    it(`retries after ${name}`, async () => {
      let n = 0;
      const { tag, sent } = tab((body) => (++n == 1 ? failure() : ok(body)));
      expect(await tag.page()).toMatchObject({ ok: false, error });
      await vi.advanceTimersByTimeAsync(250);
      expect(sent).toHaveLength(2);
      expect(ids(sent[1])).toEqual(ids(sent[0]));
    });
  }

  for (const status of [400, 403, 404, 413, 422]) {
    it(`drops the events of a ${status} with a debug warning, and never retries them`, async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const { tag, sent, store } = tab(() => ({ status, body: undefined }), { debug: true });
      expect(await tag.page()).toMatchObject({ ok: false, error: 'HTTP ' + status });
      await vi.advanceTimersByTimeAsync(120000);
      expect(sent).toHaveLength(1);
      expect(store.has(KEY)).toBe(false);
      expect(warn).toHaveBeenCalledWith('segtag:', 'dropped: HTTP ' + status);
      // The queue is not held: the next event goes at once.
      await tag.page();
      expect(sent).toHaveLength(2);
    });
  }
});

describe('acknowledgement', () => {
  it('forgets only acknowledged events and resends the rest', async () => {
    let n = 0;
    const { tag, sent } = tab((body) => ({
      status: 200,
      body: { segments: ['1'], ack: ++n == 1 ? [body.events[0].id, 42, null] : ids(body) },
    }));
    const [a, b] = [tag.track('a'), tag.track('b')];
    expect(await a).toMatchObject({ ok: true });
    expect(await b).toMatchObject({ ok: false, error: 'not acknowledged' });
    await vi.advanceTimersByTimeAsync(250);
    expect(sent.map((r) => r.events.map((e: any) => e.name))).toEqual([['a', 'b'], ['b']]);
  });

  it('takes a valid answer without `ack` (an older server) as acknowledging the whole call', async () => {
    const { tag, sent, store } = tab(() => ({ status: 200, body: { segments: ['1'] } }));
    expect(await tag.page()).toMatchObject({ ok: true, segments: ['1'] });
    await vi.advanceTimersByTimeAsync(60000);
    expect(sent).toHaveLength(1);
    expect(store.has(KEY)).toBe(false);
  });
});

describe('persisted queue', () => {
  it('stores events until they are acknowledged', async () => {
    let release!: () => void;
    const { tag, store } = tab((body) => new Promise((r) => (release = () => r(ok(body)))));
    const call = tag.page({ c_section: 'f1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(store)).toMatchObject([{ e: { type: 'page', signals: { c_section: 'f1' } } }]);
    release();
    await call;
    expect(store.has(KEY)).toBe(false);
  });

  it('a later page of the site resends what the previous page could not deliver, with the same ids', async () => {
    const first = tab(() => Promise.reject(new TypeError('offline server')));
    await first.tag.page();
    await first.tag.track('click');
    await vi.advanceTimersByTimeAsync(0);
    const lost = stored(first.store).map((i) => i.e.id);
    expect(lost).toHaveLength(2);
    first.tag.destroy(); // the page is gone

    const next = tab(ok, {}, first.store);
    // The previous page's lease (its next attempt + timeout + 3 s) must lapse, then the
    // claim must stand for 500 ms.
    await vi.advanceTimersByTimeAsync(5000);
    expect(next.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(next.sent.flatMap(ids).sort()).toEqual(lost.sort());
    expect(next.store.has(KEY)).toBe(false);
  });

  it('a page being left hands its events over: the next page sends them without waiting for the lease', async () => {
    const first = tab(() => Promise.reject(new TypeError('offline server')));
    await first.tag.page();
    await first.tag.track('click');
    await vi.advanceTimersByTimeAsync(0);
    const lost = stored(first.store).map((i) => i.e.id);
    expect(stored(first.store).every((i) => i.x > Date.now() + 4000)).toBe(true);
    first.fire(true, true); // pagehide: the flush (which fails here too), then the hand-over
    await vi.advanceTimersByTimeAsync(0);
    // The failed flush pumped again after the hand-over: the leases still end now.
    expect(first.sent).toHaveLength(2);
    expect(stored(first.store).map((i) => i.x)).toEqual([Date.now(), Date.now()]);
    first.tag.destroy(); // the page is gone

    const next = tab(ok, {}, first.store);
    // Only the claim's 500 ms: no lease to wait for.
    await vi.advanceTimersByTimeAsync(500);
    expect(next.sent.flatMap(ids).sort()).toEqual(lost.sort());
    expect(next.store.has(KEY)).toBe(false);
  });

  it('a page hidden but not left keeps its leases, and one shown again after pagehide (back/forward cache) renews them', async () => {
    const { tag, store, fire } = tab(() => Promise.reject(new TypeError('offline server')));
    await tag.page();
    fire(true); // hidden: a tab switch; the page lives on
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(store)[0].x).toBeGreaterThan(Date.now() + 4000);
    fire(true, true); // left, into the back/forward cache
    fire(true); // the visibilitychange that follows pagehide when a page is left
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(store)[0].x).toBe(Date.now());
    fire(false); // shown again
    await vi.advanceTimersByTimeAsync(0);
    expect(stored(store)[0].x).toBeGreaterThan(Date.now() + 4000);
  });

  it('caps the stored queue at 200 events, dropping the oldest with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { tag, state, store, sent } = tab(ok, { debug: true });
    state.online = false;
    for (let i = 0; i < 210; i++) {
      void tag.track('e' + i);
      await vi.advanceTimersByTimeAsync(10);
    }
    const names = stored(store).map((i) => i.e.name);
    expect(names).toHaveLength(200);
    expect(names[0]).toBe('e10');
    expect(warn).toHaveBeenCalledWith('segtag:', 'queue full');
    expect(sent).toHaveLength(0);
  });

  it('caps the stored queue at 64 Ki characters', async () => {
    const { tag, state, store } = tab();
    state.online = false;
    for (let i = 0; i < 100; i++) void tag.track('e' + i, { c_text: 'x'.repeat(1000) });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.get(KEY)!.length).toBeLessThanOrEqual(65536);
    expect(stored(store).at(-1).e.name).toBe('e99');
  });

  it('ignores garbage in storage and replaces it', async () => {
    for (const garbage of ['nope', '{"not":"a list"}', '[1,null,{"e":{}}]', '[{"e":null}]']) {
      const store = new Map([[KEY, garbage]]);
      const { tag, sent } = tab(ok, {}, store);
      expect(await tag.page()).toMatchObject({ ok: true });
      expect(sent).toHaveLength(1);
      expect(store.has(KEY)).toBe(false);
    }
  });

  it('works from memory when storage keeps nothing (private mode, quota, consent)', async () => {
    let n = 0;
    const { tag, sent, platform } = tab((body) => (++n == 1 ? { status: 503, body: undefined } : ok(body)));
    platform._storage = { get: () => null, set() {}, remove() {} };
    await tag.page();
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toHaveLength(2);
    expect(ids(sent[1])).toEqual(ids(sent[0]));
  });

  it('never grows past the caps when the server keeps answering garbage', async () => {
    const { tag, store } = tab(() => ({ status: 200, body: '<html>' }));
    for (let i = 0; i < 300; i++) {
      void tag.track('e' + i);
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(stored(store).length).toBeLessThanOrEqual(200);
    expect(store.get(KEY)!.length).toBeLessThanOrEqual(65536);
  });
});

describe('two tabs of one site', () => {
  it('never both send an event, and a closed tab’s events are taken over', async () => {
    const store = new Map<string, string>();
    const storage = sharedStorage(store);
    let failing = true;
    const server = (body: any) =>
      new Promise<HttpAnswer>((r) => setTimeout(() => r(failing ? { status: 503, body: undefined } : ok(body)), 50));
    const a = tab(server, {}, store, storage());
    const b = tab(server, {}, store, storage());
    for (let i = 0; i < 10; i++) {
      void a.tag.track('a' + i);
      void b.tag.track('b' + i);
      await vi.advanceTimersByTimeAsync(300);
    }
    await vi.advanceTimersByTimeAsync(20000);
    const fromA = new Set(a.sent.flatMap(ids));
    const fromB = new Set(b.sent.flatMap(ids));
    expect(fromA.size).toBe(10);
    expect(fromB.size).toBe(10);
    expect([...fromA].filter((id) => fromB.has(id))).toEqual([]);
    expect(stored(store)).toHaveLength(20);

    // Tab A closes with its events undelivered; B takes them over once A's lease lapses.
    a.tag.destroy();
    const sentByA = a.sent.length;
    failing = false;
    await vi.advanceTimersByTimeAsync(40000);
    expect(a.sent).toHaveLength(sentByA);
    const delivered = b.sent.flatMap(ids);
    for (const id of [...fromA, ...fromB]) expect(delivered).toContain(id);
    expect(store.has(KEY)).toBe(false);
  });

  it('two tabs that claim a lapsed event at once: only the claim that stands sends it', async () => {
    const store = new Map<string, string>();
    const event = {
      id: 'orphan-1',
      type: 'page',
      ts: Date.now() - 60000,
      url: 'https://www.example.com/x',
      signals: {},
    };
    store.set(KEY, JSON.stringify([{ e: event, o: 'closed-tab', x: Date.now() - 1 }]));
    const storage = sharedStorage(store);
    // Both read the orphan before either claim lands.
    const a = tab(ok, {}, store, storage());
    const b = tab(ok, {}, store, storage());
    await vi.advanceTimersByTimeAsync(2000);
    const senders = [a, b].filter((t) => t.sent.some((r) => ids(r).includes('orphan-1')));
    expect(senders).toHaveLength(1);
    expect(store.has(KEY)).toBe(false);
  });
});

describe('page lifecycle', () => {
  it('holds while offline, resolves ok:false at once, and sends when back online', async () => {
    const { tag, sent, state, fire } = tab();
    state.online = false;
    expect(await tag.page()).toMatchObject({ ok: false, error: 'offline' });
    await vi.advanceTimersByTimeAsync(60000);
    expect(sent).toHaveLength(0);
    state.online = true;
    fire(false);
    // Its lease lapsed while offline: claimed again, and sent once the claim stood 500 ms.
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(1);
  });

  it('flushes with keepalive when the page is hidden, alongside a call in flight', async () => {
    const { tag, sent, fire } = tab((body, keepalive) => (keepalive ? ok(body) : never()));
    void tag.page();
    await vi.advanceTimersByTimeAsync(0);
    const click = tag.track('click');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    fire(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ keepalive: true, events: [{ type: 'track', name: 'click' }] });
    expect(await click).toMatchObject({ ok: true });
  });

  it('flushes even while backing off: leaving may be the last chance', async () => {
    let n = 0;
    const { tag, sent, fire } = tab((body) => (++n == 1 ? { status: 503, body: undefined } : ok(body)));
    await tag.page();
    const click = tag.track('click');
    fire(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ keepalive: true, events: [{ type: 'page' }, { type: 'track' }] });
    expect(await click).toMatchObject({ ok: false, error: 'HTTP 503' });
  });

  it('destroy() removes every listener and timer and keeps the queue stored', async () => {
    const { tag, store, lifecycleListeners, navigationListeners } = tab(() => ({ status: 503, body: undefined }), {
      autoPage: true,
    });
    await tag.page();
    expect(vi.getTimerCount()).toBe(1);
    expect(lifecycleListeners.size + navigationListeners.size).toBe(2);
    tag.destroy();
    expect(vi.getTimerCount()).toBe(0);
    expect(lifecycleListeners.size + navigationListeners.size).toBe(0);
    expect(stored(store)).toHaveLength(1);
  });
});

describe('single-page apps (autoPage)', () => {
  it('sends one page view per change of address, none for the same address or a #fragment', async () => {
    const { tag, sent, navigate } = tab(ok, { autoPage: true });
    await tag.page();
    for (const url of [
      'https://www.example.com/b',
      'https://www.example.com/b',
      'https://www.example.com/b#top',
      'https://www.example.com/c?q=1',
      'https://www.example.com/a',
    ]) {
      navigate(url);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(sent.flatMap((r) => r.events.map((e: any) => e.url))).toEqual([
      'https://www.example.com/a',
      'https://www.example.com/b',
      'https://www.example.com/c?q=1',
      'https://www.example.com/a',
    ]);
  });

  it('a manual page() in the same tick as a navigation counts once, with its signals', async () => {
    const { tag, sent, navigate } = tab(ok, { autoPage: true });
    navigate('https://www.example.com/d');
    void tag.page({ c_section: 'd' });
    await vi.advanceTimersByTimeAsync(10);
    expect(sent.flatMap((r) => r.events)).toMatchObject([
      { type: 'page', url: 'https://www.example.com/d', signals: { c_section: 'd' } },
    ]);
  });

  it('ignores navigations after destroy() (a wrapper another script kept may still call)', async () => {
    const { tag, sent, navigationListeners, navigate } = tab(ok, { autoPage: true });
    const [listener] = navigationListeners;
    tag.destroy();
    navigate('https://www.example.com/after');
    listener();
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is off by default', () => {
    const { navigationListeners } = tab();
    expect(navigationListeners.size).toBe(0);
  });
});
