import { describe, expect, it, vi } from 'vitest';
import { createConsent } from '../src/core/consent';
import { gatePixels, gatePlatform } from '../src/core/gate-platform';
import type { Platform } from '../src/core/platform';

/** A recording platform with the optional members other parts add (storage, fire). */
function recording() {
  const jar = new Map<string, string>(); // `name;domain` -> value
  const store = new Map<string, string>();
  const log: string[] = [];
  const platform = {
    cookies: {
      get: (n: string) => [...jar].find(([k]) => k.split(';')[0] == n)?.[1],
      set: (n: string, v: string, _d: number, domain?: string) => (log.push(`set ${n} ${domain}`), void jar.set(`${n};${domain}`, v)),
      remove: (n: string, domain?: string) => (log.push(`remove ${n} ${domain}`), void jar.delete(`${n};${domain}`)),
      encode: (v: string) => v,
    },
    storage: {
      get: (k: string) => store.get(k) ?? null,
      set: (k: string, v: string) => void store.set(k, v),
      remove: (k: string) => void store.delete(k),
    },
    fire: vi.fn(async (_url: string, _hideReferrer: boolean) => true),
    post: vi.fn(async (_url: string, _body: string, _timeout: number) => ({ status: 200, body: { segments: [] } as unknown })),
    context: () => ({ url: 'https://www.example.com/' }),
    uuid: () => 'u',
    now: () => 1,
    online: () => true,
    lifecycle: () => () => {},
  } satisfies Platform & Record<string, unknown>;
  return { platform, jar, store, log };
}

describe('gatePlatform', () => {
  it('passes everything through when granted', async () => {
    const { platform, jar, store } = recording();
    const consent = createConsent('in');
    const g = gatePlatform(platform, consent, []);
    g.cookies.set('a', '1', 1);
    g.storage.set('k', 'v');
    expect(g.cookies.get('a')).toBe('1');
    expect(g.storage.get('k')).toBe('v');
    expect(await gatePixels(platform.fire, consent).fire!('https://px.example/1', true)).toBe(true);
    await g.post('/rtc', '{}', 100);
    expect(platform.post).toHaveBeenCalledOnce();
    expect([...jar.keys(), ...store.keys()]).toEqual(['a;undefined', 'k']);
  });

  it('reads nothing, writes nothing, fires nothing while unknown; calls wait for the decision', async () => {
    const { platform, jar, store } = recording();
    jar.set('segtag;undefined', 'seg=1');
    store.set('q', 'x');
    const consent = createConsent('pending');
    const g = gatePlatform(platform, consent, ['segtag']);
    expect(g.cookies.get('segtag')).toBeUndefined();
    expect(g.storage.get('q')).toBeNull();
    g.cookies.set('b', '1', 1);
    g.cookies.remove('segtag');
    g.storage.set('k', 'v');
    expect(await gatePixels(platform.fire, consent).fire!('https://px.example/1', false)).toBe(false);
    const call = g.post('/rtc', '{}', 100);
    await new Promise((r) => setTimeout(r, 20));
    expect(platform.post).not.toHaveBeenCalled();
    expect(platform.fire).not.toHaveBeenCalled();
    // Unknown deletes nothing either: an earlier page's cookie stays, unread.
    expect([...jar.keys(), ...store.keys()]).toEqual(['segtag;undefined', 'q']);
    consent.set('in');
    await call;
    expect(platform.post).toHaveBeenCalledOnce();
  });

  it('refuses calls when denied', async () => {
    const { platform } = recording();
    const g = gatePlatform(platform, createConsent('out'), []);
    await expect(g.post('/rtc', '{}', 100)).rejects.toThrow('no consent');
    expect(platform.post).not.toHaveBeenCalled();
  });

  it('on withdrawal deletes exactly what it let through, on the domain it was written with', () => {
    const { platform, jar, store, log } = recording();
    jar.set('publisher;undefined', 'keep');
    store.set('publisher-key', 'keep');
    const consent = createConsent('auto');
    const g = gatePlatform(platform, consent, ['segtag', 'segtag_uid']);
    g.cookies.set('segtag_uid', 'u1', 400);
    g.cookies.set('segtag_uid', 'u1', 400);
    g.cookies.set('dest', 'x', 1, '.example.com');
    g.storage.set('segtag:q', '[]');
    log.length = 0;
    consent.set('out');
    expect([...jar.keys()]).toEqual(['publisher;undefined']);
    expect([...store.keys()]).toEqual(['publisher-key']);
    // One removal each; `segtag` was never written on this page nor earlier: not touched.
    expect(log.sort()).toEqual(['remove dest .example.com', 'remove segtag_uid undefined']);
    g.cookies.set('late', '1', 1);
    expect(jar.has('late;undefined')).toBe(false);
  });

  it("deletes segtag's own cookies from earlier pages when consent is denied from the start", () => {
    const { platform, jar } = recording();
    jar.set('segtag;undefined', 'seg=1');
    jar.set('segtag_uid;undefined', 'u0');
    jar.set('publisher;undefined', 'keep');
    gatePlatform(platform, createConsent('out'), ['segtag', 'segtag_uid']);
    expect([...jar.keys()]).toEqual(['publisher;undefined']);
  });
});
