import { SEGMENT_ID } from '../protocol/patterns';

/**
 * The segment cookie's value: `key=id,id,...`, the single-key serialized format of
 * Audience Manager's Google Ad Manager recipe. Pure functions: the cookie jar does I/O.
 */

/**
 * Serializes segments under `key`, keeping the longest prefix (the server's priority
 * order) whose stored size, cookie name plus encoded value, fits `maxBytes`.
 * `encode` is the cookie library's value encoder, so the size is the stored size.
 */
export function serializeSegments(
  key: string,
  segments: string[],
  name: string,
  maxBytes: number,
  encode: (value: string) => string,
): { value: string; kept: string[] } {
  const kept: string[] = [];
  let size = name.length + encode(key + '=').length;
  for (const s of segments) {
    size += encode((kept.length ? ',' : '') + s).length;
    if (size > maxBytes) break;
    kept.push(s);
  }
  return { value: key + '=' + kept.join(','), kept };
}

/** Reads a decoded cookie value written by `serializeSegments`; anything else yields []. */
export function parseSegments(value: string | undefined, key: string): string[] {
  if (!value || value.slice(0, key.length + 1) != key + '=') return [];
  return value
    .slice(key.length + 1)
    .split(',')
    .filter((s) => SEGMENT_ID.test(s));
}
