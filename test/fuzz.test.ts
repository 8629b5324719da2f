import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from './support/client';
import { resolveConfig } from '../src/core/config';
import { dcsCodec as dcs } from '../src/core/dcs-codec';
import { asWire, COOKIE_OCTETS, dcsAnswer, v1Answer } from './support/arbitraries';
import { fakePlatform } from './fake-platform';
import { jsonCodecWithDestinations } from '../src/core/codec';
import { createDestinations } from '../src/core/destinations';
import { resolveCookieDestinations } from '../src/core/cookie-destinations';

const ALLOWED = ['aam', 'partner'];
const protoNames = Object.getOwnPropertyNames(Object.prototype).sort();
/** How often the generator reached the interesting paths: a fuzz that never writes proves nothing. */
const reached = { fired: 0, written: 0, skipped: 0 };

async function run(text: string, protocol: 'v1' | 'dcs') {
  const fake = fakePlatform(() => ({ status: 200, body: JSON.parse(text) }));
  const cfg = resolveCookieDestinations(
    resolveConfig({
      endpoint: '/rtc',
      site: 'fuzz',
      protocol,
      cookie: { name: protocol == 'dcs' ? 'segs' : 'segtag' },
    }),
    ALLOWED,
  );
  const tag = createClient(
    cfg,
    fake.platform,
    protocol == 'dcs' ? dcs : jsonCodecWithDestinations,
    createDestinations(cfg, fake.platform),
  );
  const outcomes: unknown[] = [];
  tag.onDestinations!((o) => outcomes.push(o));
  const result = await tag.page({ c_x: '1' });
  // Long enough for every pixel of an answer (10, 100 ms apart); a malformed answer is
  // retried with backoff forever, so the tag is destroyed before the clock runs out.
  await vi.advanceTimersByTimeAsync(3000);
  tag.destroy();
  await vi.runAllTimersAsync();
  // No exception escaped, and the call resolved with a well-formed result.
  expect(typeof result.ok).toBe('boolean');
  // Object.prototype untouched.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoNames);
  expect(({} as any).polluted).toBeUndefined();
  // Only segtag's own cookies and allowlisted destinations, with valid bytes and size.
  for (const [name, { value }] of fake.jar) {
    expect([cfg.name, 'segtag_uid', ...ALLOWED]).toContain(name);
    const stored = fake.platform._cookies.encode(value);
    expect(stored).toMatch(COOKIE_OCTETS);
    expect(name.length + stored.length).toBeLessThanOrEqual(4096);
  }
  // Only https pixels (the fake page is https), at most 10 per answer.
  for (const { url } of fake.fired) expect(new URL(url).protocol).toBe('https:');
  expect(fake.fired.length).toBeLessThanOrEqual(10);
  if (fake.fired.length) reached.fired++;
  if (ALLOWED.some((n) => fake.jar.has(n))) reached.written++;
  if (outcomes.some((o: any) => o.status == 'skipped')) reached.skipped++;
  return outcomes;
}

describe('fuzz: hostile answers', () => {
  beforeAll(() => vi.useFakeTimers());
  afterAll(() => {
    vi.useRealTimers();
    console.log('fuzz reached', reached);
    expect(Math.min(reached.fired, reached.written, reached.skipped)).toBeGreaterThan(100);
  });

  it('protocol v1: nothing escapes, pollutes, writes or fires that should not', async () => {
    await fc.assert(
      fc.asyncProperty(v1Answer, fc.boolean(), async (body, proto) => void (await run(asWire(body, proto), 'v1'))),
      { numRuns: 1500 },
    );
  }, 120_000);

  it('DCS: nothing escapes, pollutes, writes or fires that should not', async () => {
    await fc.assert(
      fc.asyncProperty(dcsAnswer, fc.boolean(), async (body, proto) => void (await run(asWire(body, proto), 'dcs'))),
      { numRuns: 1500 },
    );
  }, 120_000);
});
