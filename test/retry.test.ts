import { describe, expect, it } from 'vitest';
import { backoff, MAX_WAIT, retryAfter } from '../src/core/retry';

describe('backoff', () => {
  it('doubles from 500 ms up to a 30 s ceiling, times the jitter factor', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map((fails) => Math.round(backoff(fails, 0, 0.999999)));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('is full jitter: anywhere from 0 to the ceiling', () => {
    expect(backoff(3, 0, 0)).toBe(0);
    expect(backoff(3, 0, 0.5)).toBe(1000);
  });

  it('never waits less than Retry-After, and never past the hour', () => {
    expect(backoff(1, 5000, 0.999)).toBe(5000);
    expect(backoff(8, 5000, 0.5)).toBe(15000);
    expect(backoff(1, 90 * 86400e3, 0.5)).toBe(MAX_WAIT);
  });
});

describe('retryAfter', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(retryAfter('120', now)).toBe(120000);
    expect(retryAfter(' 3 ', now)).toBe(3000);
    expect(retryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date relative to now', () => {
    expect(retryAfter('Sat, 28 Nov 2026 12:00:30 GMT', now)).toBe(30000);
  });

  it('answers 0 when absent, malformed or in the past', () => {
    for (const value of [null, undefined, '', 'soon', '-5', '1.5e3x', 'Sat, 28 Nov 2026 11:00:00 GMT']) {
      expect(retryAfter(value, now)).toBe(0);
    }
  });
});
