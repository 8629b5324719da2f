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
