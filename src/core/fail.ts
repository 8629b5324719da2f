/** Programmer errors on the npm API: a TypeError that names the problem. */
export function check(ok: unknown, problem: string): asserts ok {
  if (!ok) throw new TypeError('segtag: ' + problem);
}
