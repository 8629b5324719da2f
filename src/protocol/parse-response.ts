import { SEGMENT_ID, UID } from './patterns';
import { isObject } from './is-object';
import { MAX_COOKIE_TTL, positiveUpTo } from './parse-destinations';
import type { CallResponse } from './types';

/** Hard cap on segments taken from one response, whatever the server sends. */
export const MAX_SEGMENTS = 1000;

/**
 * Validates an untrusted response body and copies only the known fields of protocol v1's
 * core (`pixels` and `cookies` are read by `parseDestinations`, with the destinations feature;
 * `tid`, for the server's logs, is not used by the SDK and not copied).
 * Returns undefined when the body is malformed (not an object, or `segments`
 * is not an array): the caller must then change nothing.
 */
export function parseResponse(body: unknown): (CallResponse & { segments: string[] }) | undefined {
  if (!isObject(body) || !Array.isArray(body.segments)) return;
  const segments: string[] = [];
  for (const s of body.segments) {
    if (typeof s == 'string' && SEGMENT_ID.test(s) && !segments.includes(s)) {
      if (segments.push(s) >= MAX_SEGMENTS) break;
    }
  }
  const out: CallResponse & { segments: string[] } = { segments };
  const { uid, ttl, ack } = body;
  if (typeof uid == 'string' && UID.test(uid)) out.uid = uid;
  const days = positiveUpTo(ttl, MAX_COOKIE_TTL);
  if (days) out.ttl = days;
  if (Array.isArray(ack)) out.ack = ack.filter((id) => typeof id == 'string');
  return out;
}
