/**
 * Programmer errors: a TypeError naming what is invalid, a config option or an argument:
 * `segtag: invalid cookie.domain`, `segtag: invalid track() name` (README, API).
 */
export function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new TypeError('segtag: invalid ' + what);
}
