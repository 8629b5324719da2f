import { describe, expect, it } from 'vitest';
import { createConsent, DENIED, GRANTED, MAX_HELD, UNKNOWN } from '../src/core/consent';

const settled = async <T>(p: Promise<T>) => {
  let out: T | 'pending' = 'pending';
  p.then((v) => (out = v));
  await new Promise((r) => setTimeout(r, 0));
  return out;
};

describe('createConsent', () => {
  it('maps the modes: in grants, out denies, pending and an unanswered CMP are unknown', () => {
    expect(createConsent('in')._state()).toBe(GRANTED);
    expect(createConsent('out')._state()).toBe(DENIED);
    expect(createConsent('pending')._state()).toBe(UNKNOWN);
    // 'auto' with no source at all (no CMP, no GPC): granted.
    expect(createConsent('auto')._state()).toBe(GRANTED);
  });

  it('combines sources: any denial denies, any unanswered source keeps it unknown', () => {
    const c = createConsent('auto');
    c._report('tcfapi', UNKNOWN);
    c._report('gpp', GRANTED);
    expect(c._state()).toBe(UNKNOWN);
    c._report('tcfapi', GRANTED);
    expect(c._state()).toBe(GRANTED);
    c._report('gpc', DENIED);
    expect(c._state()).toBe(DENIED);
  });

  it('lets the publisher override every signal with set()', () => {
    const c = createConsent('auto');
    c._report('gpc', DENIED);
    c._set('in');
    expect(c._state()).toBe(GRANTED);
    c._report('tcfapi', DENIED);
    expect(c._state()).toBe(GRANTED);
    c._set('out');
    expect(c._state()).toBe(DENIED);
  });

  it('holds waiters while unknown and releases them on the decision, never on a timeout', async () => {
    const c = createConsent('pending');
    const w = c._wait();
    await new Promise((r) => setTimeout(r, 50));
    expect(await settled(w)).toBe('pending');
    c._set('in');
    expect(await settled(w)).toBe(true);
    expect(await settled(c._wait())).toBe(true);

    const d = createConsent('pending');
    const dw = d._wait();
    d._set('out');
    expect(await settled(dw)).toBe(false);
  });

  it(`holds at most ${MAX_HELD} waiters; the rest are refused at once`, async () => {
    const c = createConsent('pending');
    const held = Array.from({ length: MAX_HELD }, () => c._wait());
    expect(await settled(c._wait())).toBe(false);
    c._set('in');
    expect(await Promise.all(held)).toEqual(held.map(() => true));
  });

  it('notifies listeners on changes only and merges the wire payload', () => {
    const c = createConsent('auto');
    const seen: number[] = [];
    c._on((s) => seen.push(s));
    c._report('tcfapi', UNKNOWN);
    c._report('tcfapi', GRANTED, { gdpr: true, tcf: 'CQ' });
    c._report('gpp', GRANTED, { gpp: 'DB', gppSid: '7' });
    c._set('out');
    expect(seen).toEqual([UNKNOWN, GRANTED, DENIED]);
    expect(c._wire).toEqual({ gdpr: true, tcf: 'CQ', gpp: 'DB', gppSid: '7' });
  });
});
