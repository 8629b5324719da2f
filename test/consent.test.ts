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
    expect(createConsent('in').state()).toBe(GRANTED);
    expect(createConsent('out').state()).toBe(DENIED);
    expect(createConsent('pending').state()).toBe(UNKNOWN);
    // 'auto' with no source at all (no CMP, no GPC): granted.
    expect(createConsent('auto').state()).toBe(GRANTED);
  });

  it('combines sources: any denial denies, any unanswered source keeps it unknown', () => {
    const c = createConsent('auto');
    c.report('tcfapi', UNKNOWN);
    c.report('gpp', GRANTED);
    expect(c.state()).toBe(UNKNOWN);
    c.report('tcfapi', GRANTED);
    expect(c.state()).toBe(GRANTED);
    c.report('gpc', DENIED);
    expect(c.state()).toBe(DENIED);
  });

  it('lets the publisher override every signal with set()', () => {
    const c = createConsent('auto');
    c.report('gpc', DENIED);
    c.set('in');
    expect(c.state()).toBe(GRANTED);
    c.report('tcfapi', DENIED);
    expect(c.state()).toBe(GRANTED);
    c.set('out');
    expect(c.state()).toBe(DENIED);
  });

  it('holds waiters while unknown and releases them on the decision, never on a timeout', async () => {
    const c = createConsent('pending');
    const w = c.wait();
    await new Promise((r) => setTimeout(r, 50));
    expect(await settled(w)).toBe('pending');
    c.set('in');
    expect(await settled(w)).toBe(true);
    expect(await settled(c.wait())).toBe(true);

    const d = createConsent('pending');
    const dw = d.wait();
    d.set('out');
    expect(await settled(dw)).toBe(false);
  });

  it(`holds at most ${MAX_HELD} waiters; the rest are refused at once`, async () => {
    const c = createConsent('pending');
    const held = Array.from({ length: MAX_HELD }, () => c.wait());
    expect(await settled(c.wait())).toBe(false);
    c.set('in');
    expect(await Promise.all(held)).toEqual(held.map(() => true));
  });

  it('notifies listeners on changes only and merges the wire payload', () => {
    const c = createConsent('auto');
    const seen: number[] = [];
    c.on((s) => seen.push(s));
    c.report('tcfapi', UNKNOWN);
    c.report('tcfapi', GRANTED, { gdpr: true, tcf: 'CQ' });
    c.report('gpp', GRANTED, { gpp: 'DB', gppSid: '7' });
    c.set('out');
    expect(seen).toEqual([UNKNOWN, GRANTED, DENIED]);
    expect(c.wire).toEqual({ gdpr: true, tcf: 'CQ', gpp: 'DB', gppSid: '7' });
  });
});
