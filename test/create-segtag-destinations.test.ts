// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import '../src/register-destinations';
import { createSegtag } from '../src/create-segtag';
import type { Segtag } from '../src/types';

// A build with destinations (npm, segtag-sync.min.js): it, not the core config, checks
// `cookieDestinations`, before any CMP is asked.
describe('createSegtag with destinations registered', () => {
  let tag: Segtag | undefined;
  afterEach(() => tag?.destroy());

  it.each([['aam'], [['a;b']], [['segtag_uid']]])('rejects cookieDestinations %j', (list) => {
    let asked = 0;
    (window as any).__tcfapi = () => asked++;
    try {
      expect(() => createSegtag({ endpoint: '/e', site: 's', cookieDestinations: list as any })).toThrow('segtag: invalid cookieDestinations');
      expect(asked).toBe(0);
    } finally {
      delete (window as any).__tcfapi;
    }
  });

  it('accepts a valid allowlist and offers onDestinations', () => {
    tag = createSegtag({ endpoint: '/e', site: 's', cookieDestinations: ['aam'], consent: { mode: 'pending' } });
    expect(typeof tag.onDestinations).toBe('function');
  });
});
