/** Small statistics and formatting helpers shared by the bench parts. */

export function quantile(values, q) {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!xs.length) return NaN;
  // Nearest-rank on the sorted sample: no interpolation, so p95 is a value that was measured.
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];
}

export const median = (values) => quantile(values, 0.5);
export const p95 = (values) => quantile(values, 0.95);

/** Fixed decimals, or '-' for a missing value. */
export function fmt(x, digits = 2) {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** Thousands separators: 51719 -> "51,719". */
export function int(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

/** "12.3x" style ratio, or '-' when either side is missing. */
export function ratio(a, b, digits = 1) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(digits)}x` : '-';
}

/** A target verdict for the tables: met / MISSED, plus what was compared. */
export function verdict(ok, detail) {
  if (ok == null) return `n/a${detail ? ` (${detail})` : ''}`;
  return `${ok ? 'met' : '**MISSED**'}${detail ? ` (${detail})` : ''}`;
}

/** Round-robin order that rotates the starting candidate each round, so none always goes first. */
export function rotated(items, round) {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
