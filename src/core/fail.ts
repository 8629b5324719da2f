/**
 * Programmer errors: a TypeError naming what is invalid, a config option or an argument:
 * `segtag: invalid cookie.domain`, `segtag: invalid track() name` (README, API).
 */
/** A number in [min, max] (NaN is not). */
export const isNum = (x: unknown, min: number, max: number): x is number =>
  typeof x == 'number' && x >= min && x <= max;

/** A string that `pattern` matches whole: patterns alone would accept numbers and arrays, stringified. */
export const isText = (x: unknown, pattern: RegExp): x is string => typeof x == 'string' && pattern.test(x);

export function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new TypeError('segtag: invalid ' + what);
}
