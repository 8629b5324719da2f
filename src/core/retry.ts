/** Longest wait between attempts, whatever the server asks: setTimeout overflows past 2^31 ms. */
export const MAX_WAIT = 3600e3;

/**
 * Milliseconds to wait before attempt `fails + 1` after `fails` consecutive failures:
 * capped exponential backoff with full jitter (0.5 s, 1 s, 2 s ... up to 30 s, times a
 * random factor in [0, 1) so a fleet of pages that failed together does not return
 * together), and never less than the server's `Retry-After` (`after`, in ms).
 */
export const backoff = (fails: number, after: number, random: number): number =>
  Math.min(MAX_WAIT, Math.max(after, random * Math.min(30e3, 250 * 2 ** fails)));

/**
 * A `Retry-After` header value in ms from `now`: delay-seconds (`120`) or an HTTP date.
 * 0 when absent, malformed or in the past.
 */
export const retryAfter = (value: string | null | undefined, now: number): number =>
  Math.max(0, +value! * 1e3 || Date.parse(value!) - now || 0);
