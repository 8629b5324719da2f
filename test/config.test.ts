import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/core/config';

const base = { endpoint: 'https://dcs.example.com/v1/rtc', site: 'pub-123' };

describe('resolveConfig', () => {
  it('fills the defaults', () => {
    expect(resolveConfig(base)).toEqual({
      _endpoint: base.endpoint,
      site: base.site,
      _timeout: 2000,
      name: 'segtag',
      key: 'seg',
      _days: 30,
      domain: 'auto',
      _maxBytes: 3000,
      _format: 'single',
      _keySeparator: '=',
      _valueSeparator: ',',
      _autoPage: false,
      _debug: false,
      _protocol: 'v1',
      consent: 'auto',
      _vendorId: 0,
    });
  });

  it('defaults the value separator by format and accepts every allowed separator', () => {
    expect(resolveConfig({ ...base, cookie: { format: 'pairs' } })).toMatchObject({
      _format: 'pairs',
      _keySeparator: '=',
      _valueSeparator: '&',
    });
    for (const sep of '=,&|;/~!*^@#$') {
      const other = sep == '=' ? '|' : '=';
      expect(resolveConfig({ ...base, cookie: { keySeparator: other, valueSeparator: sep } })).toMatchObject({
        _valueSeparator: sep,
      });
    }
  });

  it('accepts a same-origin path and explicit cookie settings', () => {
    const r = resolveConfig({
      endpoint: '/v1/rtc',
      site: 's',
      cookie: { name: 'aam', key: 'kv', days: 1, domain: '.example.com', maxBytes: 2048 },
    });
    expect(r).toMatchObject({
      _endpoint: '/v1/rtc',
      name: 'aam',
      key: 'kv',
      _days: 1,
      domain: '.example.com',
      _maxBytes: 2048,
    });
  });

  it('keeps the protocol; cookieDestinations is left to the destinations feature', () => {
    const r = resolveConfig({ ...base, cookieDestinations: 'not checked here' as any, protocol: 'dcs' });
    expect(r).toMatchObject({ _protocol: 'dcs' });
    expect(r).not.toHaveProperty('cookieDestinations');
  });

  it('accepts every consent mode and a TCF vendor id', () => {
    for (const mode of ['auto', 'in', 'pending', 'out'] as const)
      expect(resolveConfig({ ...base, consent: { mode, vendorId: 755 } })).toMatchObject({
        consent: mode,
        _vendorId: 755,
      });
  });

  it.each([
    [undefined, 'segtag: invalid config'],
    [{ site: 'x' }, /endpoint/],
    [{ ...base, endpoint: 'javascript:alert(1)' }, /endpoint/],
    [{ ...base, endpoint: 'dcs.example.com' }, /endpoint/],
    [{ ...base, site: '' }, /site/],
    [{ ...base, site: 'a b' }, /site/],
    [{ ...base, timeout: 0 }, /timeout/],
    [{ ...base, cookie: { name: 'a;b' } }, /cookie.name/],
    [{ ...base, cookie: { key: '1seg' } }, /cookie.key/],
    [{ ...base, cookie: { key: 'k'.repeat(21) } }, /cookie.key/],
    [{ ...base, cookie: { days: 401 } }, /cookie.days/],
    [{ ...base, cookie: { domain: 'a;b' } }, /cookie.domain/],
    [{ ...base, cookie: { maxBytes: 5000 } }, /cookie.maxBytes/],
    [{ ...base, cookie: { format: 'json' } }, 'segtag: invalid cookie.format'],
    [{ ...base, cookie: { keySeparator: ':' } }, /cookie.keySeparator/], // appears in segment ids
    [{ ...base, cookie: { keySeparator: '_' } }, /cookie.keySeparator/],
    [{ ...base, cookie: { keySeparator: '+' } }, /cookie.keySeparator/], // PHP decodes + to a space
    [{ ...base, cookie: { keySeparator: '%' } }, /cookie.keySeparator/],
    [{ ...base, cookie: { keySeparator: ' ' } }, /cookie.keySeparator/],
    [{ ...base, cookie: { keySeparator: '==' } }, /cookie.keySeparator/],
    [{ ...base, cookie: { keySeparator: '' } }, /cookie.keySeparator/],
    [{ ...base, cookie: { valueSeparator: '"' } }, /valueSeparator/],
    [{ ...base, cookie: { valueSeparator: '=' } }, /valueSeparator/],
    [{ ...base, cookie: { format: 'pairs', keySeparator: '&' } }, /valueSeparator/],
    [{ ...base, consent: 'out' }, 'segtag: invalid consent'],
    [{ ...base, consent: null }, /consent/],
    [{ ...base, consent: { mode: 'granted' } }, 'segtag: invalid consent.mode'],
    [{ ...base, consent: { vendorId: 1.5 } }, /consent.*vendorId/],
    [{ ...base, consent: { vendorId: 70000 } }, /consent.*vendorId/],
    [{ ...base, consent: { vendorId: '755' } }, /consent.*vendorId/],
  ])('rejects %j with a TypeError naming the problem', (config, problem) => {
    expect(() => resolveConfig(config as any)).toThrow(TypeError);
    expect(() => resolveConfig(config as any)).toThrow(problem);
  });
});
