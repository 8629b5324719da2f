/**
 * The visitor of an `/event` call, as Audience Manager's DCS recognises it
 * (docs/audience-manager.md "Identity"), first of:
 *   1. `d_uuid`, when valid (tags that stored an earlier answer's `uuid` send it back);
 *   2. the server's own visitor cookie (default `demdex`), sent by credentialed calls (DIL);
 *   3. `d_mid`, the Experience Cloud id: mapped to a uuid derived from it, so one ECID is one
 *      profile whichever server instance answers and whether or not the cookie survived;
 *   4. a new uuid.
 * The uuids the server makes have Audience Manager's form: 38 decimal digits.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { MAX_COOKIE_TTL, UID } from 'segtag/protocol';

/** Audience Manager's uuid form: 38 digits, the first not 0. */
export const DCS_UUID = /^[1-9]\d{37}$/;
/** Chrome's cap on a cookie's lifetime (RFC 6265bis): the visitor cookie is renewed on every answer. */
export const VISITOR_COOKIE_MAX_AGE = MAX_COOKIE_TTL * 86400;

export type VisitorSource = 'd_uuid' | 'cookie' | 'd_mid' | 'new';

export interface VisitorInputs {
  /** `d_uuid` as sent (the last one when repeated). */
  dUuid?: string;
  /** The visitor cookie's value, if the request carried it. */
  cookie?: string;
  /** `d_mid` as sent. */
  mid?: string;
}

/** A random uuid in Audience Manager's form: 38 decimal digits. */
export function newDcsUuid(): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 38) {
    // Bytes below 250 map evenly onto 0-9.
    for (const b of randomBytes(48)) if (b < 250 && digits.length < 38) digits += String(b % 10);
  }
  return digits;
}

/** The uuid an Experience Cloud id maps to: 38 digits from a hash of it (namespaced, stable). */
export function uuidFromMid(mid: string): string {
  const hash = BigInt('0x' + createHash('sha256').update(`segtag d_mid\0${mid}`).digest('hex'));
  return String(10n ** 37n + (hash % (9n * 10n ** 37n)));
}

/** An `d_mid` worth mapping: the UID alphabet (an ECID is 38 digits). */
const MID = UID;

/** Applies the precedence above; invalid values are skipped, not errors. */
export function resolveVisitor({ dUuid, cookie, mid }: VisitorInputs): { uid: string; source: VisitorSource } {
  if (dUuid !== undefined && UID.test(dUuid)) return { uid: dUuid, source: 'd_uuid' };
  if (cookie !== undefined && UID.test(cookie)) return { uid: cookie, source: 'cookie' };
  if (mid !== undefined && MID.test(mid)) return { uid: uuidFromMid(mid), source: 'd_mid' };
  return { uid: newDcsUuid(), source: 'new' };
}

/** The value of cookie `name` in a `Cookie` header (the first one), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() != name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
}

/**
 * The `Set-Cookie` value: host-only (no `Domain`), `Path=/`, 400 days, `HttpOnly`; on https
 * `SameSite=None; Secure` so cross-site credentialed calls carry it, on plain http `SameSite=Lax`
 * (browsers refuse `SameSite=None` without `Secure`), which same-site pages still send it with.
 */
export function visitorCookie(name: string, uid: string, https: boolean): string {
  const site = https ? 'SameSite=None; Secure' : 'SameSite=Lax';
  return `${name}=${uid}; Max-Age=${VISITOR_COOKIE_MAX_AGE}; Path=/; HttpOnly; ${site}`;
}
