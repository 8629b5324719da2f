import type { CallResponse, CookieDestination, PixelDestination } from './types';
import { SEGMENT_ID } from './patterns';

/** At most this many pixels and this many cookies are read from one answer. */
export const MAX_DESTINATIONS = 50;

export const isObject = (x: unknown): x is Record<string, any> => !!x && typeof x == 'object' && !Array.isArray(x);

/** A destination whose `K` fields are kept as the server sent them (any JSON type). */
type Unchecked<T, K extends keyof T> = Omit<T, K> & { [P in K]?: unknown };
export type ParsedPixel = Unchecked<PixelDestination, 'ttl' | 'hideReferrer'>;
export type ParsedCookie = Unchecked<CookieDestination, 'ttl' | 'domain'>;

/** A validated answer: destinations' optional fields are checked where they are used. */
export type ParsedResponse = Omit<CallResponse, 'pixels' | 'cookies'> & { pixels?: ParsedPixel[]; cookies?: ParsedCookie[] };

const isString = (x: unknown): x is string => typeof x == 'string';

const list = <T>(x: unknown, ok: (item: Record<string, any>) => boolean): T[] =>
  Array.isArray(x) ? x.slice(0, MAX_DESTINATIONS).filter((item) => isObject(item) && ok(item)) : [];

/**
 * Validates the untrusted `pixels` and `cookies` of an answer: keeps at most 50 of each,
 * only objects with a string `url` and an `id` of the segment-id alphabet (pixels) or a
 * string `name` and `value` (cookies). Shape only: whether a URL may fire or a cookie may
 * be written is decided by the SDK, with a reason for every skip. To stay small the
 * entries are kept as parsed: the SDK reads only the known fields, by name, never
 * spreads them, and reads `ttl`, `hideReferrer` and `domain` so that any JSON type is safe.
 */
export function parseDestinations(body: Record<string, unknown>, out: ParsedResponse): void {
  const pixels = list<ParsedPixel>(body.pixels, (p) => isString(p.id) && SEGMENT_ID.test(p.id) && isString(p.url));
  const cookies = list<ParsedCookie>(body.cookies, (c) => isString(c.name) && isString(c.value));
  if (pixels.length) out.pixels = pixels;
  if (cookies.length) out.cookies = cookies;
}
