// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { candidateDomains, createCookieJar } from '../src/browser/cookie-jar';

describe('candidateDomains', () => {
  it('goes from the broadest parent to the host itself', () => {
    expect(candidateDomains('www.news.example.co.uk')).toEqual([
      'co.uk',
      'example.co.uk',
      'news.example.co.uk',
      'www.news.example.co.uk',
    ]);
    expect(candidateDomains('example.com')).toEqual(['example.com']);
  });

  it('offers no domain for IPs, localhost and IPv6', () => {
    expect(candidateDomains('127.0.0.1')).toEqual([]);
    expect(candidateDomains('localhost')).toEqual([]);
    expect(candidateDomains('[::1]')).toEqual([]);
  });
});

describe('createCookieJar', () => {
  beforeEach(() => {
    for (const c of document.cookie.split('; ')) if (c) document.cookie = c.split('=')[0] + '=; max-age=0; path=/';
  });

  it('writes, reads and removes through js-cookie', () => {
    const jar = createCookieJar('auto', location.hostname, false);
    jar.set('segtag', 'seg=1,2', 30);
    expect(document.cookie).toContain('segtag=seg=1%2C2');
    expect(jar.get('segtag')).toBe('seg=1,2');
    jar.remove('segtag');
    expect(jar.get('segtag')).toBeUndefined();
  });

  it('names the one domain it writes every cookie for (host-only: the host)', () => {
    // happy-dom's page is http://localhost:3000: a single label, so cookies are host-only.
    expect(createCookieJar('auto', location.hostname, false)._domain()).toBe('localhost');
    expect(createCookieJar('.example.com', 'www.example.com', false)._domain()).toBe('.example.com');
  });

  /** Counts reads and writes of document.cookie (the prototype chain's accessor, wrapped). */
  function countAccess() {
    let proto = Object.getPrototypeOf(document);
    while (!Object.getOwnPropertyDescriptor(proto, 'cookie')) proto = Object.getPrototypeOf(proto);
    const native = Object.getOwnPropertyDescriptor(proto, 'cookie')!;
    const counts = { reads: 0, writes: 0 };
    Object.defineProperty(document, 'cookie', {
      configurable: true,
      get() {
        counts.reads++;
        return native.get!.call(document);
      },
      set(value) {
        counts.writes++;
        native.set!.call(document, value);
      },
    });
    /** Another script's write, not counted. */
    const writeAsAnother = (cookie: string) => native.set!.call(document, cookie);
    return { counts, writeAsAnother, restore: () => delete (document as any).cookie };
  }

  it('reads document.cookie once per task, sees its own writes at once, and reads again in the next task', async () => {
    document.cookie = 'other=1; path=/';
    const jar = createCookieJar('auto', location.hostname, false);
    const { counts, writeAsAnother, restore } = countAccess();
    try {
      expect([jar.get('segtag'), jar.get('other'), jar.get('segtag_uid')]).toEqual([undefined, '1', undefined]);
      expect(counts).toEqual({ reads: 1, writes: 0 });
      jar.set('segtag', 'seg=1,2', 30);
      expect(jar.get('segtag')).toBe('seg=1,2');
      expect(counts).toEqual({ reads: 1, writes: 1 });
      writeAsAnother('segtag=seg=3; path=/');
      expect(jar.get('segtag')).toBe('seg=1,2'); // this task's view
      await new Promise((r) => setTimeout(r));
      expect(jar.get('segtag')).toBe('seg=3');
      expect(counts).toEqual({ reads: 2, writes: 1 });
      jar.remove('segtag');
      expect(jar.get('segtag')).toBeUndefined(); // a removal reads again
      expect(counts).toEqual({ reads: 3, writes: 2 });
    } finally {
      restore();
    }
  });

  it("reads its cookie when another script's cookie does not decode, and skips its own when that does not", () => {
    document.cookie = 'theirs=%E0%A4%A; path=/';
    document.cookie = 'segtag=seg=1; path=/';
    expect(createCookieJar('auto', location.hostname, false).get('segtag')).toBe('seg=1');
    document.cookie = 'segtag=seg=%E0%A4%A; path=/';
    expect(createCookieJar('auto', location.hostname, false).get('segtag')).toBeUndefined();
  });

  it('never throws on a malformed cookie written by another script', () => {
    document.cookie = 'segtag=seg=%E0%A4%A; path=/';
    const jar = createCookieJar('auto', location.hostname, false);
    expect(() => jar.get('segtag')).not.toThrow();
  });

  it('never throws when cookie access itself throws (sandboxed frame)', () => {
    const jar = createCookieJar('auto', location.hostname, false);
    const descriptor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(document), 'cookie')!;
    Object.defineProperty(document, 'cookie', {
      configurable: true,
      get() {
        throw new DOMException('sandboxed', 'SecurityError');
      },
      set() {
        throw new DOMException('sandboxed', 'SecurityError');
      },
    });
    try {
      expect(jar.get('segtag')).toBeUndefined();
      expect(() => jar.set('segtag', 'seg=1', 1)).not.toThrow();
      expect(() => jar.remove('segtag')).not.toThrow();
    } finally {
      delete (document as any).cookie;
      expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(document), 'cookie')).toEqual(descriptor);
    }
  });
});
