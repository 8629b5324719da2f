import { SEGMENT_ID } from '../protocol/patterns';

/**
 * The segment cookie's value, in the two formats of Audience Manager's cookie destinations:
 * - `single`: one key with serialized values, `seg=1,2,3` (the Google Ad Manager recipe);
 * - `pairs`: key-value pairs, `seg=1&seg=2&seg=3`.
 * Pure functions shared by the browser (through the cookie jar) and `segtag/cookie` (servers):
 * one implementation of the format.
 */
export interface SegmentFormat {
  _format: 'single' | 'pairs';
  /** Targeting key, written before the values. */
  key: string;
  /** Between the key and a value. */
  _keySeparator: string;
  /** Between values (`single`) or between pairs (`pairs`). */
  _valueSeparator: string;
}

/**
 * Serializes segments, keeping the longest prefix (the server's priority order) whose
 * stored size, cookie name plus encoded value, fits `maxBytes`. `encode` is the cookie
 * library's value encoder, so the size is the stored size. Everything written is ASCII,
 * so the encoded size of the whole is the sum of its parts'.
 */
export function serializeSegments(
  f: SegmentFormat,
  segments: string[],
  name: string,
  maxBytes: number,
  encode: (value: string) => string,
): { _value: string; _kept: string[] } {
  const kept: string[] = [];
  const head = f.key + f._keySeparator;
  const pairs = f._format == 'pairs';
  let value = '';
  let size = name.length;
  for (const s of segments) {
    // single: `key=1` then `,2`; pairs: `key=1` then `&key=2`
    const token = kept.length ? f._valueSeparator + (pairs ? head : '') + s : head + s;
    size += encode(token).length;
    if (size > maxBytes) break;
    kept.push(s);
    value += token;
  }
  return { _value: value, _kept: kept };
}

/**
 * Reads a decoded cookie value written in either format with these separators: it must
 * start with `key<keySeparator>`; each token between value separators loses that prefix
 * when it has it, and ids outside the allowlist (another key's `x=1`, junk) are skipped.
 * Never throws, whatever the value.
 */
export function parseSegments(value: string | undefined, f: SegmentFormat): string[] {
  const head = f.key + f._keySeparator;
  const strip = (t: string) => (t.startsWith(head) ? t.slice(head.length) : t);
  return value?.startsWith(head)
    ? value
        .split(f._valueSeparator)
        .map(strip)
        .filter((s) => SEGMENT_ID.test(s))
    : [];
}
