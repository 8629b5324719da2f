import { describe, expect, it, vi } from 'vitest';
import { createConsent } from '../src/core/consent';
import { gatePixels, gatePlatform } from '../src/core/gate-platform';
import type { Platform } from '../src/core/platform';

/** A recording platform with the optional members other parts add (storage, fire). */
function recording() {
  const jar = new Map<string, string>();
  const store = new Map<string, string>();
  const log: string[] = [];
  const platform = {
    _cookies: {
      get: (n: string) => jar.get(n),
      set(n: string, v: string, _days: number) {
        log.push(`set ${n}`);
        jar.set(n, v);
      },
      remove(n: string) {
        log.push(`remove ${n}`);
        jar.delete(n);
      },
      encode: (v: string) => v,
      _domain: () => 'example.com',
    },
    _storage: {
      get: (k: string) => store.get(k) ?? null,
      set: (k: string, v: string) => void store.set(k, v),
      remove: (k: string) => void store.delete(k),
    },
    _fire: vi.fn(async (_url: string, _hideReferrer: boolean) => true),
    _post: vi.fn(async (_url: string, _body: string, _timeout: number) => ({
      _status: 200,
      _body: { segments: [] } as unknown,
    })),
    _context: () => ({ url: 'https://www.example.com/' }),
    _uuid: () => 'u',
    _now: () => 1,
    _online: () => true,
    _lifecycle: () => () => {},
  } satisfies Platform & Record<string, unknown>;
  return { platform, jar, store, log };
}

describe('gatePlatform', () => {
  it('passes everything through when granted', async () => {
    const { platform, jar, store } = recording();
    const consent = createConsent('in');
    const g = gatePlatform(platform, consent, []);
    g._cookies.set('a', '1', 1);
    g._storage.set('k', 'v');
    expect(g._cookies.get('a')).toBe('1');
    expect(g._storage.get('k')).toBe('v');
    expect(await gatePixels(platform._fire, consent)._fire!('https://px.example/1', true)).toBe(true);
    expect([...jar.keys(), ...store.keys()]).toEqual(['a', 'k']);
  });

  it('reads nothing, writes nothing, fires nothing while unknown', async () => {
    const { platform, jar, store } = recording();
    jar.set('segtag', 'seg=1');
    store.set('q', 'x');
    const consent = createConsent('pending');
    const g = gatePlatform(platform, consent, ['segtag']);
    expect(g._cookies.get('segtag')).toBeUndefined();
    expect(g._storage.get('q')).toBeNull();
    g._cookies.set('b', '1', 1);
    g._cookies.remove('segtag');
    g._storage.set('k', 'v');
    expect(await gatePixels(platform._fire, consent)._fire!('https://px.example/1', false)).toBe(false);
    expect(platform._fire).not.toHaveBeenCalled();
    // Unknown deletes nothing either: an earlier page's cookie stays, unread.
    expect([...jar.keys(), ...store.keys()]).toEqual(['segtag', 'q']);
  });

  it('on withdrawal deletes exactly what it let through, on the domain it was written with', () => {
    const { platform, jar, store, log } = recording();
    jar.set('publisher', 'keep');
    store.set('publisher-key', 'keep');
    const consent = createConsent('auto');
    const g = gatePlatform(platform, consent, ['segtag', 'segtag_uid']);
    g._cookies.set('segtag_uid', 'u1', 400);
    g._cookies.set('segtag_uid', 'u1', 400);
    g._cookies.set('dest', 'x', 1);
    g._storage.set('segtag:q', '[]');
    log.length = 0;
    consent._set('out');
    expect([...jar.keys()]).toEqual(['publisher']);
    expect([...store.keys()]).toEqual(['publisher-key']);
    // One removal each; `segtag` was never written on this page nor earlier: not touched.
    expect(log.sort()).toEqual(['remove dest', 'remove segtag_uid']);
    g._cookies.set('late', '1', 1);
    expect(jar.has('late')).toBe(false);
  });

  it("deletes segtag's own cookies from earlier pages when consent is denied from the start", () => {
    const { platform, jar } = recording();
    jar.set('segtag', 'seg=1');
    jar.set('segtag_uid', 'u0');
    jar.set('publisher', 'keep');
    gatePlatform(platform, createConsent('out'), ['segtag', 'segtag_uid']);
    expect([...jar.keys()]).toEqual(['publisher']);
  });
});
