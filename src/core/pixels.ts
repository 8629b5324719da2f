import type { ParsedPixel } from '../protocol/destinations';
import { SEGMENT_ID } from '../protocol/patterns';
import type { Consent, Platform } from './platform';
import type { Emit } from './destinations';

/** Pixels fired per answer at most, and milliseconds between two pixels (also across answers). */
export const MAX_PIXELS = 10;
export const PIXEL_SPACING = 100;
/** Longest pixel URL fired, after macro expansion. */
export const MAX_URL = 4096;
/**
 * Ids the persisted de-duplication record keeps at most (newest). Ids are 1-64 characters,
 * so the record stays under 4.5 KB.
 */
export const MAX_SEEN = 50;

/**
 * Expands `%rnd%`, `%timestamp%`, `%uid%`, `${GDPR}` and `${GDPR_CONSENT_<vendor>}`, each
 * value URL-encoded. Without a consent state `${GDPR}` and the consent string expand to ''.
 */
export const expandMacros = (url: string, m: { uid: string } & Consent, now: number): string =>
  url.replace(/%(rnd|timestamp|uid)%|\$\{GDPR(_CONSENT_\d+)?\}/g, (_, k, c) =>
    encodeURIComponent(
      k ? (k == 'uid' ? m.uid : k == 'rnd' ? (Math.random() * 1e12).toFixed() : now) : (c ? m.tcString : m.gdpr) ?? '',
    ),
  );

/**
 * The pixel firer of one tag instance: allowlists URLs (`https:`, `http:` only on http
 * pages, at most MAX_URL long), de-duplicates by id (for `ttl` minutes across pages
 * through storage, else for this page), fires at most MAX_PIXELS per answer,
 * PIXEL_SPACING ms apart, and reports each outcome.
 */
export function createPixels(site: string, platform: Platform, emit: Emit) {
  const { storage } = platform;
  const key = 'segtag_px:' + site;
  // `http:` pixels only on http pages.
  const http = /^http:/.test(platform.context().url) && 'http:';
  let seen: Map<unknown, number>;
  // Pixels waiting to fire. Each fires PIXEL_SPACING ms after the previous one actually
  // fired, so a busy main thread cannot bunch them up.
  const queue: (() => void)[] = [];
  let pumping = false;
  const pump = () => {
    const fire = queue.shift();
    if ((pumping = !!fire)) {
      fire!();
      setTimeout(pump, PIXEL_SPACING);
    }
  };
  return (list: ParsedPixel[], uid: string) => {
    const now = platform.now();
    // Read once per page: id -> expiry. Whatever storage holds, lookups only compare
    // `> now` on a Map (no prototype involved).
    try {
      seen ||= new Map(JSON.parse(storage.get(key)!));
    } catch {
      seen = new Map();
    }
    let fired = 0;
    for (const { id, url, ttl, hideReferrer } of list) {
      let u = '';
      try {
        const x = expandMacros(url, { uid, ...platform.consent?.() }, now);
        const { protocol } = new URL(x);
        if (x.length <= MAX_URL && (protocol == 'https:' || protocol == http)) u = x;
      } catch {}
      const reason = seen.get(id)! > now ? 'seen' : !u ? 'url' : fired++ < MAX_PIXELS ? 0 : 'limit';
      if (reason) emit('pixel', id, 'skipped', reason);
      else {
        // No ttl: for this page only.
        seen.set(id, (ttl as number) > 0 ? now + (ttl as number) * 6e4 : 1 / 0);
        queue.push(() =>
          platform
            .fire!(u, !!hideReferrer)
            .catch(() => 0)
            .then((ok) => emit('pixel', id, ok ? 'loaded' : 'error')),
        );
      }
    }
    if (!pumping) pump();
    // Persisted: unexpired ids with a ttl (page-only ones are Infinity), newest last.
    storage.set(key, JSON.stringify([...seen].filter((e) => e[1] > now && e[1] < 1 / 0 && SEGMENT_ID.test(e[0] as string)).slice(-MAX_SEEN)));
  };
}
