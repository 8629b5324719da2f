import type { CallResponse, CookieDestination, PixelDestination } from './types';
import { SEGMENT_ID } from './patterns';
import { isObject } from './is-object';

/** At most this many pixels and this many cookies are read from one answer. */
export const MAX_DESTINATIONS = 50;
/** The longest `ttl` honoured: a pixel's in minutes (365 days), a cookie's in days (400, browsers' cap). */
export const MAX_PIXEL_TTL = 525600;
export const MAX_COOKIE_TTL = 400;
/** The longest pixel URL: the SDK fires none longer (after its macros), the server answers none longer. */
export const MAX_PIXEL_URL = 4096;

const isString = (x: unknown): x is string => typeof x == 'string';

/** A number in (0, max]; anything else (another type, NaN, out of range) counts as absent. */
export const positiveUpTo = (x: unknown, max: number): number | undefined =>
  typeof x == 'number' && x > 0 && x <= max ? x : undefined;

const objects = (x: unknown) => (Array.isArray(x) ? x.slice(0, MAX_DESTINATIONS).filter(isObject) : []);

/**
 * Validates the untrusted `pixels` and `cookies` of an answer and copies their known fields:
 * at most 50 of each; pixels need an `id` of the segment-id alphabet and a string `url`,
 * cookies a string `name` and `value`. Optional fields of the wrong type or out of range count
 * as absent: `ttl` (a number, pixels' in minutes up to 525600 (365 days), cookies' in days up to 400),
 * `hideReferrer` (only `true` hides it), `domain` (a string). Shape only: whether a URL may
 * fire or a cookie may be written is decided by the SDK, with a reason for every skip.
 */
export function parseDestinations(body: Record<string, unknown>, out: CallResponse): void {
  const pixels: PixelDestination[] = [];
  for (const p of objects(body.pixels)) {
    if (isString(p.id) && SEGMENT_ID.test(p.id) && isString(p.url))
      pixels.push({
        id: p.id,
        url: p.url,
        ttl: positiveUpTo(p.ttl, MAX_PIXEL_TTL),
        hideReferrer: p.hideReferrer === true,
      });
  }
  const cookies: CookieDestination[] = [];
  for (const c of objects(body.cookies)) {
    if (isString(c.name) && isString(c.value))
      cookies.push({
        name: c.name,
        value: c.value,
        ttl: positiveUpTo(c.ttl, MAX_COOKIE_TTL),
        domain: isString(c.domain) ? c.domain : undefined,
      });
  }
  if (pixels.length) out.pixels = pixels;
  if (cookies.length) out.cookies = cookies;
}
