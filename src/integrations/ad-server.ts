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
  /** Warn on the console about the keys and values dropped (by GAM's rules, the format or `maxBytes`). */
  debug?: boolean;
}

const STYLES = ['gam', 'semicolon', 'query'];

/**
 * What `cust_params` cannot carry. GAM URL-decodes it once, splits it on `&` into pairs, each
 * pair on its first `=` and the values on `,`; `%` and `+` would change if anything decoded the
 * pieces again (GAM documents neither way).
 */
const GAM_UNSAFE = /[,&=%+]/;

/**
 * Targeting as ad-request URL parameters, ready to append to an ad tag. A value the style cannot
 * carry unambiguously is dropped, never altered (an altered value could be another segment's
 * id): empty values, values or keys that cannot be URL-encoded (lone surrogates), and for `gam`
 * keys and values with `, & = % +` or against GAM's rules. Truncated URLs lose key-values
 * silently, so `maxBytes` keeps the longest prefix in the server's priority order that fits
 * (keys in order, then values in order). `debug` warns about everything dropped.
 */
export function toAdServerParams(targeting: Targeting, options: AdServerOptions): string {
  const { style, maxBytes = Infinity, debug } = options || ({} as AdServerOptions);
  check(STYLES.includes(style), 'toAdServerParams() style');
  check(typeof maxBytes == 'number' && maxBytes >= 0, 'toAdServerParams() maxBytes');
  const gam = style == 'gam';
  const t = gam ? gamTargeting(targeting, debug) : targeting || {};
  let out = '';
  const dropped: unknown[][] = [];
  let full = false;
  for (const key of Object.keys(t)) {
    let first = true;
    for (const v of ([] as unknown[]).concat(t[key])) {
      let piece: string | undefined;
      try {
        if (typeof v != 'string' || !v || (gam && GAM_UNSAFE.test(key + v))) throw 0;
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
      } else dropped.push([key, v]);
    }
  }
  if (debug && dropped.length) console.warn('segtag: toAdServerParams dropped', dropped);
  return out;
}
