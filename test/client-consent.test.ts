import { describe, expect, it } from 'vitest';
import { createClient, UID_COOKIE } from './support/client';
import { resolveConfig } from '../src/core/config';
import { createConsent, type ConsentMode } from '../src/core/consent';
import { gatePlatform } from '../src/core/gate-platform';
import { fakePlatform } from './fake-platform';

const cfg = resolveConfig({ endpoint: 'https://dcs.example.com/v1/rtc', site: 'pub-1' });

/** The client as createSegtag wires it: the gate around the platform, the same consent. */
function setup(mode: ConsentMode, segments = ['1', '2']) {
  const fake = fakePlatform(() => ({ status: 200, body: { segments } }));
  let t = 1_700_000_000_000;
  fake.platform._now = () => t++;
  const consent = createConsent(mode);
  const tag = createClient(
    cfg,
    gatePlatform(fake.platform, consent, [cfg.name, UID_COOKIE]),
    undefined,
    undefined,
    consent,
  );
  return { ...fake, consent, tag };
}
const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe('the client under consent', () => {
  it('holds events in memory while unknown and sends them once granted, with the visitor id and consent of that moment', async () => {
    const { tag, consent, sent, jar } = setup('auto');
    jar.set('segtag', { value: 'seg=9', days: 30 });
    jar.set(UID_COOKIE, { value: 'returning-visitor-1', days: 400 });
    consent._report('tcfapi', 1);
    const first = tag.page({ c_a: '1' });
    const second = tag.track('video_start');
    await tick();
    expect(sent).toHaveLength(0);
    // Reading is access too: nothing is read before consent.
    expect(tag.getTargeting()).toEqual({});
    expect(await tag.ready(20)).toEqual({});
    consent._report('tcfapi', 2, { gdpr: true, tcf: 'CQ-TC' });
    expect((await first).ok).toBe(true);
    expect((await second).ok).toBe(true);
    // Raised in one task, both ride in one call.
    expect(sent.map((r) => [r.uid, r.events.map((e: { type: string }) => e.type), r.consent])).toEqual([
      ['returning-visitor-1', ['page', 'track'], { gdpr: true, tcf: 'CQ-TC' }],
    ]);
    // Events keep the time they were raised, before consent arrived.
    expect(sent[0].events[0].ts).toBeLessThan(sent[0].events[1].ts);
    expect(tag.getTargeting()).toEqual({ seg: ['1', '2'] });
  });

  it('a first visit held while unknown gets one visitor id for all its events', async () => {
    const { tag, consent, sent, jar } = setup('pending');
    const calls = [tag.page(), tag.page(), tag.track('x')];
    await tick();
    consent._set('in');
    await Promise.all(calls);
    expect(new Set(sent.map((r) => r.uid)).size).toBe(1);
    expect(jar.get(UID_COOKIE)!.value).toBe(sent[0].uid);
  });

  it('denied: drops events at once, writes nothing, sends nothing', async () => {
    const { tag, sent, jar } = setup('out');
    const t0 = Date.now();
    expect(await tag.page()).toEqual({ ok: false, segments: [], targeting: {}, error: 'no consent' });
    expect(await tag.ready(500)).toEqual({});
    expect(Date.now() - t0).toBeLessThan(400);
    expect(sent).toHaveLength(0);
    expect(jar.size).toBe(0);
  });

  it('withdrawal deletes the cookies, forgets the segments and stops calling', async () => {
    const { tag, sent, jar } = setup('in');
    const changes: unknown[] = [];
    tag.onSegments((t) => changes.push(t));
    await tag.page();
    expect([...jar.keys()].sort()).toEqual(['segtag', UID_COOKIE]);
    tag.setConsent('out');
    expect(jar.size).toBe(0);
    expect(tag.getSegments()).toEqual([]);
    expect(await tag.page()).toMatchObject({ ok: false, error: 'no consent' });
    expect(sent).toHaveLength(1);
    // And back in: calls resume.
    tag.setConsent('in');
    expect((await tag.page()).ok).toBe(true);
    expect(sent).toHaveLength(2);
  });

  it('a call in flight when consent is withdrawn writes nothing when it answers', async () => {
    let release!: () => void;
    const { platform, jar } = fakePlatform();
    platform._post = () =>
      new Promise((r) => (release = () => r({ _status: 200, _body: { segments: ['7'], uid: 'server-uid-1' } })));
    const consent = createConsent('in');
    const tag = createClient(
      cfg,
      gatePlatform(platform, consent, [cfg.name, UID_COOKIE]),
      undefined,
      undefined,
      consent,
    );
    const call = tag.page();
    await tick();
    consent._set('out');
    release();
    await call;
    expect(jar.size).toBe(0);
  });

  it('setConsent takes only in or out', () => {
    const { tag } = setup('auto');
    expect(() => tag.setConsent('yes' as any)).toThrow(TypeError);
    expect(() => tag.setConsent('yes' as any)).toThrow('segtag: invalid setConsent() choice');
  });
});
