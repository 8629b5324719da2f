/**
 * A v4 UUID from `crypto.getRandomValues`, which, unlike `crypto.randomUUID`,
 * also exists on http pages (not a secure context): one call for the 31 random digits.
 */
export const uuid = (r = crypto.getRandomValues(new Uint8Array(31)), i = 0): string =>
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) => (+c ^ (r[i++] & (15 >> (+c / 4)))).toString(16));
