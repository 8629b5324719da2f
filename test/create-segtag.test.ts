// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { createSegtag } from '../src/create-segtag';
import { autoPage } from '../src/auto-page';
import { dcs } from '../src/dcs';
import { destinations } from '../src/destinations';
import type { SegtagFeatures } from '../src/core/features';
import type { Segtag, SegtagConfig } from '../src/types';

const base = { endpoint: '/e', site: 's', consent: { mode: 'pending' } } as const;

/** The feature sets of the builds: the script tags' and an npm app's that imports everything. */
const builds: Record<string, SegtagFeatures> = {
  'segtag.min.js (none)': {},
  'segtag-sync.min.js': { destinations, autoPage },
  'segtag-aam.min.js / all': { dcs, destinations, autoPage },
};

let tag: Segtag | undefined;
afterEach(() => {
  tag?.destroy();
  tag = undefined;
});

/** The error createSegtag throws, or undefined when it accepts the config. */
function rejection(config: SegtagConfig, features: SegtagFeatures) {
  try {
    tag = createSegtag(config, features);
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return (e as Error).message;
  }
}

describe('createSegtag: a config naming a feature that was not passed', () => {
  const cases: [string, Partial<SegtagConfig>, keyof SegtagFeatures, string][] = [
    ['protocol: dcs', { protocol: 'dcs' }, 'dcs', 'segtag: invalid protocol (feature dcs not included)'],
    ['autoPage: true', { autoPage: true }, 'autoPage', 'segtag: invalid autoPage (feature autoPage not included)'],
    [
      'cookieDestinations',
      { cookieDestinations: ['aam'] },
      'destinations',
      'segtag: invalid cookieDestinations (feature destinations not included)',
    ],
  ];
  for (const [name, option, feature, message] of cases) {
    for (const [build, features] of Object.entries(builds)) {
      const has = !!features[feature];
      it(`${name}: ${has ? 'accepted' : 'rejected the same way'} by ${build}`, () => {
        expect(rejection({ ...base, ...option }, features)).toBe(has ? undefined : message);
      });
    }
    it(`${name}: rejected by an npm app that passes every other feature`, () => {
      const others = { ...builds['segtag-aam.min.js / all'] };
      delete others[feature];
      expect(rejection({ ...base, ...option }, others)).toBe(message);
    });
  }

  it('an empty cookieDestinations needs no feature', () => {
    expect(rejection({ ...base, cookieDestinations: [] }, {})).toBeUndefined();
  });

  it.each(Object.entries(builds))('an unknown protocol is rejected by %s', (_, features) => {
    expect(rejection({ ...base, protocol: 'soap' as 'v1' }, features)).toBe('segtag: invalid protocol');
  });
});

describe('createSegtag with the destinations feature', () => {
  it.each([['aam'], [['a;b']], [['segtag_uid']]])('rejects cookieDestinations %j before any CMP is asked', (list) => {
    let asked = 0;
    (window as any).__tcfapi = () => asked++;
    try {
      expect(() =>
        createSegtag({ endpoint: '/e', site: 's', cookieDestinations: list as any }, { destinations }),
      ).toThrow('segtag: invalid cookieDestinations');
      expect(asked).toBe(0);
    } finally {
      delete (window as any).__tcfapi;
    }
  });

  it('offers onDestinations only with the feature', () => {
    tag = createSegtag({ ...base, cookieDestinations: ['aam'] }, { destinations });
    expect(typeof tag.onDestinations).toBe('function');
    tag.destroy();
    tag = createSegtag(base);
    expect(tag.onDestinations).toBeUndefined();
  });
});
