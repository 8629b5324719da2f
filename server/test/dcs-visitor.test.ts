/**
 * The visitor of an /event call (http/dcs-visitor.ts): precedence d_uuid > cookie > d_mid > new,
 * Audience Manager's 38-digit uuid form, the cookie's attributes on http and https.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { UID } from 'segtag/protocol';
import { createDecider } from '../src/decide';
import { DCS_UUID, newDcsUuid, readCookie, resolveVisitor, uuidFromMid, visitorCookie } from '../src/http/dcs-visitor';
import { eventRoutes } from '../src/http/event';
import { createMetrics } from '../src/http/metrics';
import { createRulesSource } from '../src/rules/source';
import { createMemoryStore } from '../src/stores/memory';

const MID = '90077121775993806112115099951483039736';

describe('resolveVisitor', () => {
  it.each([
    ['d_uuid first', { dUuid: 'uuid-aaaaaaaa', cookie: 'cookie-bbbbbbbb', mid: MID }, 'uuid-aaaaaaaa', 'd_uuid'],
    ['then the cookie', { cookie: 'cookie-bbbbbbbb', mid: MID }, 'cookie-bbbbbbbb', 'cookie'],
    ['an invalid d_uuid is skipped', { dUuid: 'bad uuid', cookie: 'cookie-bbbbbbbb' }, 'cookie-bbbbbbbb', 'cookie'],
    ['a too-short d_uuid is skipped', { dUuid: 'short', mid: MID }, uuidFromMid(MID), 'd_mid'],
    ['then d_mid', { mid: MID }, uuidFromMid(MID), 'd_mid'],
    ['an invalid cookie is skipped', { cookie: 'x;y', mid: MID }, uuidFromMid(MID), 'd_mid'],
  ] as const)('%s', (_name, inputs, uid, source) => {
    expect(resolveVisitor(inputs)).toEqual({ uid, source });
  });

  it('else a new 38-digit uuid', () => {
    const { uid, source } = resolveVisitor({ mid: 'not valid!' });
    expect(source).toBe('new');
    expect(uid).toMatch(DCS_UUID);
  });
});

describe('uuids', () => {
  it('new ones are 38 decimal digits, first not 0, valid as protocol uids, distinct', () => {
    const many = Array.from({ length: 2000 }, newDcsUuid);
    for (const u of many) {
      expect(u).toMatch(/^[1-9][0-9]{37}$/);
      expect(u).toMatch(UID);
    }
    expect(new Set(many).size).toBe(many.length);
    // Every digit shows up in every position after the first (no stuck digits).
    for (let i = 1; i < 38; i++) expect(new Set(many.map((u) => u[i])).size).toBe(10);
  });

  it('an Experience Cloud id maps to one stable 38-digit uuid, different per id', () => {
    expect(uuidFromMid(MID)).toMatch(DCS_UUID);
    expect(uuidFromMid(MID)).toBe(uuidFromMid(MID));
    expect(uuidFromMid(MID)).not.toBe(uuidFromMid(MID.replace(/6$/, '7')));
    expect(uuidFromMid(MID)).not.toBe(MID); // namespaced: a d_mid never lands on the same-looking d_uuid
  });
});

describe('the visitor cookie', () => {
  it('reads the named cookie from a Cookie header', () => {
    expect(readCookie('a=1; demdex=123; b=2', 'demdex')).toBe('123');
    expect(readCookie('xdemdex=9; demdex="45"', 'demdex')).toBe('45');
    expect(readCookie('a=1', 'demdex')).toBeUndefined();
    expect(readCookie(undefined, 'demdex')).toBeUndefined();
  });

  it('host-only, 400 days, HttpOnly; SameSite=None; Secure on https, SameSite=Lax on http', () => {
    expect(visitorCookie('demdex', '1'.repeat(38), true)).toBe(
      `demdex=${'1'.repeat(38)}; Max-Age=34560000; Path=/; HttpOnly; SameSite=None; Secure`,
    );
    expect(visitorCookie('demdex', '1'.repeat(38), false)).toBe(
      `demdex=${'1'.repeat(38)}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`,
    );
    expect(visitorCookie('demdex', 'x', true)).not.toMatch(/domain/i);
  });

  it('behind a proxy fastify trusts (trustProxy), X-Forwarded-Proto: https makes it Secure', async () => {
    const rules = createRulesSource({ traits: [], segments: [] });
    const store = createMemoryStore();
    const decide = createDecider({ rules, store: () => store, metrics: createMetrics(), now: Date.now });
    const app = Fastify({ trustProxy: true });
    await app.register(eventRoutes(decide, () => rules.engine.rules));
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/event?d_rtbd=json',
        headers: { 'x-forwarded-proto': 'https' },
      });
      expect(res.headers['set-cookie']).toMatch(
        /^demdex=[1-9]\d{37}; Max-Age=34560000; Path=\/; HttpOnly; SameSite=None; Secure$/,
      );
    } finally {
      await app.close();
      await store.close();
    }
  });
});
