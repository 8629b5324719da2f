// @vitest-environment happy-dom
import { CmpApi as TcfCmpApi } from '@iabtechlabtcf/cmpapi';
import { CmpApi as GppCmpApi } from '@iabgpp/cmpapi';
import { afterEach, describe, expect, it } from 'vitest';
import { readConsentSignals } from '../src/browser/consent-signals';
import { createConsent, DENIED, GRANTED, UNKNOWN } from '../src/core/consent';
import { OTHER_VENDOR, tcString, VENDOR } from '../e2e/support/iab';

const w = window as any;
const read = (vendorId = 0) => {
  const consent = createConsent('auto');
  readConsentSignals(consent, vendorId);
  return consent;
};

afterEach(() => {
  delete w.__tcfapi;
  delete w.__gpp;
  delete (navigator as any).globalPrivacyControl;
});

describe('readConsentSignals with the real IAB CMP libraries', () => {
  it('no CMP and no GPC: granted, nothing to send', () => {
    const c = read();
    expect(c._state()).toBe(GRANTED);
    expect(c._wire).toEqual({});
  });

  it('Global Privacy Control opts out', () => {
    Object.defineProperty(navigator, 'globalPrivacyControl', { value: true, configurable: true });
    const c = read();
    expect(c._state()).toBe(DENIED);
    expect(c._wire).toEqual({ gpc: true });
  });

  it('TCF: purpose 1 (and our vendor) grant; without them, denied; UI shown stays unknown', () => {
    const cmp = new TcfCmpApi(10, 1, true);
    const granted = tcString();
    const c = read(VENDOR);
    expect(c._state()).toBe(UNKNOWN); // the CMP queues until its first update
    cmp.update('', true); // new visitor, UI shown: eventStatus 'cmpuishown'
    expect(c._state()).toBe(UNKNOWN);
    cmp.update(granted, false);
    expect(c._state()).toBe(GRANTED);
    expect(c._wire).toEqual({ gdpr: true, tcf: granted });

    cmp.update(tcString({ purposes: [3, 4] }), false);
    expect(c._state()).toBe(DENIED);
    cmp.update(tcString({ vendors: [OTHER_VENDOR] }), false);
    expect(c._state()).toBe(DENIED); // purpose 1, but not our vendor
    expect(read(0)._state()).toBe(GRANTED); // no vendor configured: purpose 1 is enough
    cmp.update(null); // gdprApplies false: TCF does not restrict
    expect(c._state()).toBe(GRANTED);
    expect(c._wire.gdpr).toBe(false);
  });

  it('GPP: an opt-out of sale, sharing or targeted advertising in a US section denies', () => {
    w.__gpp = () => []; // the stub's empty queue, as the GPP CMP API expects to find it
    const cmp = new GppCmpApi(10, 1);
    const c = read();
    expect(c._state()).toBe(UNKNOWN); // signal status 'not ready'
    cmp.setFieldValue('usnat', 'SaleOptOutNotice', 1);
    cmp.setFieldValue('usnat', 'SaleOptOut', 2); // 2 = did not opt out
    cmp.setApplicableSections([7]);
    cmp.setSignalStatus('ready' as any);
    expect(c._state()).toBe(GRANTED);
    expect(c._wire).toEqual({ gpp: cmp.getGppString(), gppSid: '7' });

    for (const [section, field, value = 1] of [
      ['usnat', 'SharingOptOut'],
      ['usnat', 'TargetedAdvertisingOptOut'],
      ['usca', 'SaleOptOut'],
      ['usva', 'TargetedAdvertisingOptOut'],
      ['uspv1', 'OptOutSale', 'Y'],
    ] as const) {
      cmp.clear();
      cmp.setFieldValue(section, field, value);
      cmp.setSignalStatus('ready' as any);
      expect(read()._state(), `${section}.${field}`).toBe(DENIED);
    }
  });

  it('a CMP that throws or answers garbage leaves consent unknown, and nothing throws', () => {
    w.__tcfapi = () => {
      throw new Error('broken CMP');
    };
    w.__gpp = (_cmd: string, cb: any) => cb({ pingData: null }, true);
    expect(read()._state()).toBe(UNKNOWN);
    w.__tcfapi = (_c: string, _v: number, cb: any) => cb({ gdprApplies: true, eventStatus: 'tcloaded' }, true);
    delete w.__gpp;
    expect(read()._state()).toBe(UNKNOWN);
  });

  it('never sends a TC or GPP string with characters outside base64url', () => {
    w.__tcfapi = (_c: string, _v: number, cb: any) =>
      cb(
        {
          gdprApplies: true,
          eventStatus: 'tcloaded',
          tcString: '"><script>',
          purpose: { consents: { 1: true } },
          vendor: { consents: {} },
        },
        true,
      );
    const c = read();
    expect(c._state()).toBe(GRANTED);
    expect(c._wire).toEqual({ gdpr: true });
  });
});
