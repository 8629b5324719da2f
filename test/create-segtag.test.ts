import { describe, expect, it } from 'vitest';
import { createSegtag } from '../src/create-segtag';

// The standard build: no DCS codec registered (the npm entry and segtag-aam.min.js register it).
describe('createSegtag without the DCS codec', () => {
  it.each(['dcs', 'soap'])('rejects protocol %j with a message naming the Audience Manager build', (protocol) => {
    expect(() => createSegtag({ endpoint: '/e', site: 's', protocol } as any)).toThrow(TypeError);
    expect(() => createSegtag({ endpoint: '/e', site: 's', protocol } as any)).toThrow(/segtag-aam\.min\.js/);
  });
});

// The standard build: no autoPage registered (single-page apps use npm or segtag-sync.min.js).
describe('createSegtag without autoPage', () => {
  it('rejects autoPage: true with a message naming segtag-sync.min.js', () => {
    expect(() => createSegtag({ endpoint: '/e', site: 's', autoPage: true })).toThrow(TypeError);
    expect(() => createSegtag({ endpoint: '/e', site: 's', autoPage: true })).toThrow('segtag: invalid autoPage (true: segtag-sync.min.js)');
  });
});
