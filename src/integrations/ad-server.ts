import type { Targeting } from '../types';
import { check } from '../core/fail';
import { gamTargeting } from './gam-rules';

export type AdServerStyle = 'gam' | 'semicolon' | 'query';

export interface AdServerOptions {
  /**
   * - `'gam'`: the value of Google Ad Manager's `cust_params` parameter, URL-encoded
   *   `seg=1,2&k=v` (`seg%3D1%2C2%26k%3Dv`); GAM's key-value rules apply (gam-rules.ts);
   * - `'semicolon'`: `;seg=1;seg=2` (path-style ad tags);
   * - `'query'`: `seg=1&seg=2`.
   */
  style: AdServerStyle;
  /** Cap on the returned string's length; values are dropped from the end. Default: no cap. */
  maxBytes?: number;
  /** Warn on the console about dropped values. */
  debug?: boolean;
}

const STYLES = ['gam', 'semicolon', 'query'];

/**
 * Targeting as ad-request URL parameters, ready to append to an ad tag. Truncated URLs lose
 * key-values silently, so `maxBytes` keeps the longest prefix in the server's priority order
 * that fits (keys in order, then values in order) and warns about the rest. Values that
 * cannot be URL-encoded (lone surrogates) are dropped.
 */
export function toAdServerParams(targeting: Targeting, options: AdServerOptions): string {
  const { style, maxBytes = Infinity, debug } = options || ({} as AdServerOptions);
  check(STYLES.includes(style), 'toAdServerParams() style');
  check(typeof maxBytes == 'number' && maxBytes >= 0, 'toAdServerParams() maxBytes');
  const gam = style == 'gam';
  const t = gam ? gamTargeting(targeting, debug) : targeting || {};
  let out = '';
  let dropped = 0;
  let full = false;
  for (const key of Object.keys(t)) {
    let first = true;
    for (const v of ([] as unknown[]).concat(t[key])) {
      let piece: string | undefined;
      try {
        if (typeof v != 'string' || !v) throw 0;
        // encodeURIComponent of a concatenation is the concatenation of the encodings
        // (whole strings, no split surrogate pairs), so the size grows piece by piece.
        piece = gam
          ? encodeURIComponent((first ? (out ? '&' : '') + key + '=' : ',') + v)
          : (style == 'query' ? (out ? '&' : '') : ';') + encodeURIComponent(key) + '=' + encodeURIComponent(v);
      } catch {}
      full ||= !!piece && out.length + piece.length > maxBytes;
      if (piece && !full) {
        out += piece;
        first = false;
      } else dropped++;
    }
  }
  if (debug && dropped) console.warn(`segtag: toAdServerParams dropped ${dropped} values`);
  return out;
}
