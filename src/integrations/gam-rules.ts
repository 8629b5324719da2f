import type { Targeting } from '../types';

/**
 * Google Ad Manager's key-value rules (support.google.com/admanager/answer/10020177, 1628457):
 * keys at most 20 characters, not starting with a digit, no spaces; values at most 40
 * characters; reserved characters `" ' = ! + # * ~ ; ^ ( ) < > [ ]`. The comma is refused
 * too: it separates values in the ad request. GAM drops what breaks them silently, so this
 * drops it first, with a debug warning.
 *
 * An invalid value is dropped, never repaired: a truncated or stripped value could become
 * another segment's id and target the wrong ads.
 *
 * A `__proto__` key (an own property of JSON-parsed targeting) is dropped like a key GAM
 * refuses: assigned to a plain object it would set the prototype instead, losing the key
 * and making the prototype's own properties (an array's `0`, `1`…) look like targeting keys.
 */
const KEY = /^(?!__proto__$)[^\d\s"'=!+#*~;^()<>[\],][^\s"'=!+#*~;^()<>[\],]{0,19}$/;
const VALUE = /^[^"'=!+#*~;^()<>[\],]{1,40}$/;

/** The part of `targeting` GAM accepts: valid values of valid keys; keys left empty are omitted. */
export function gamTargeting(targeting: Targeting, debug?: boolean): Targeting {
  const out: Targeting = {};
  for (const key in targeting) {
    const kept = ([] as string[]).concat(targeting[key]).filter((v) => {
      const accepted = KEY.test(key) && VALUE.test(v);
      if (!accepted && debug) console.warn('segtag: GAM rules drop', key, v);
      return accepted;
    });
    if (kept.length) out[key] = kept;
  }
  return out;
}
