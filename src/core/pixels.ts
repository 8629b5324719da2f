import type { PixelDestination } from '../protocol/types';
import { SEGMENT_ID } from '../protocol/patterns';
import { MAX_PIXEL_URL } from '../protocol/parse-destinations';
import type { MacroConsent, Platform } from './platform';
import type { Emit } from './destinations';

/** Pixels fired per answer at most, and milliseconds between two pixels (also across answers). */
export const MAX_PIXELS = 10;
export const PIXEL_SPACING = 100;
/**
 * Ids the persisted de-duplication record keeps at most (newest). Ids are 1-64 characters,
 * so the record stays under 4.5 KB.
 */
export const MAX_SEEN = 50;

/**
 * Expands `%rnd%`, `%timestamp%`, `%uid%`, `${GDPR}` and `${GDPR_CONSENT_<vendor>}`, each
 * value URL-encoded. Without a consent state `${GDPR}` and the consent string expand to ''.
 */
export function expandMacros(url: string, m: { uid: string } & MacroConsent, now: number): string {
  const value = (macro: string | undefined, consentString: string | undefined) => {
    if (macro == 'uid') return m.uid;
    if (macro == 'rnd') return (Math.random() * 1e12).toFixed();
    if (macro == 'timestamp') return now;
    return (consentString ? m.tcString : m.gdpr) ?? '';
  };
  return url.replace(/%(rnd|timestamp|uid)%|\$\{GDPR(_CONSENT_\d+)?\}/g, (_, macro, consentString) =>
    encodeURIComponent(value(macro, consentString)),
  );
}

/**
 * The pixel firer of one tag instance: allowlists URLs (`https:`, `http:` only on http
 * pages, at most MAX_PIXEL_URL long), de-duplicates by id (for `ttl` minutes across pages
 * through storage, else for this page), fires at most MAX_PIXELS per answer,
 * PIXEL_SPACING ms apart, and reports each outcome.
 */
export function createPixels(site: string, platform: Platform, emit: Emit) {
  const { _storage: storage } = platform;
  const key = 'segtag_px:' + site;
  // `http:` pixels only on http pages.
  const allowHttp = /^http:/.test(platform._context().url);
  /** Pixel id -> until when it is not fired again (Infinity: for this page). Read once per page. */
  let seen: Map<unknown, number> | undefined;
  // Pixels waiting to fire. Each fires PIXEL_SPACING ms after the previous one actually
  // fired, so a busy main thread cannot bunch them up.
  const waiting: (() => void)[] = [];
  let firing = false;
  const fireNext = () => {
    const next = waiting.shift();
    firing = !!next;
    if (!next) return;
    next();
    setTimeout(fireNext, PIXEL_SPACING);
  };

  /** The URL to fire, macros expanded, or '' when it may not fire. */
  const allowedUrl = (url: string, uid: string, now: number) => {
    try {
      const expanded = expandMacros(url, { uid, ...platform._macroConsent?.() }, now);
      const { protocol } = new URL(expanded);
      if (expanded.length <= MAX_PIXEL_URL && (protocol == 'https:' || (allowHttp && protocol == 'http:')))
        return expanded;
    } catch {}
    return '';
  };

  const readSeen = () => {
    // Whatever storage holds, lookups only compare `> now` on a Map (no prototype involved).
    try {
      return new Map<unknown, number>(JSON.parse(storage.get(key)!));
    } catch {
      return new Map<unknown, number>();
    }
  };

  return (list: PixelDestination[], uid: string) => {
    const now = platform._now();
    seen ||= readSeen();
    let fired = 0;
    for (const { id, url, ttl, hideReferrer } of list) {
      const u = allowedUrl(url, uid, now);
      let reason: 'seen' | 'url' | 'limit' | undefined;
      if (seen.get(id)! > now) reason = 'seen';
      else if (!u) reason = 'url';
      else if (fired++ >= MAX_PIXELS) reason = 'limit';
      if (reason) {
        emit('pixel', id, 'skipped', reason);
        continue;
      }
      // No ttl: for this page only.
      seen.set(id, ttl ? now + ttl * 6e4 : Infinity);
      waiting.push(() =>
        platform._fire!(u, !!hideReferrer)
          .catch(() => false)
          .then((ok) => emit('pixel', id, ok ? 'loaded' : 'error')),
      );
    }
    if (!firing) fireNext();
    // Persisted: unexpired ids with a ttl (page-only ones are Infinity), newest last.
    const persisted = [...seen].filter(
      ([id, until]) => until > now && until < Infinity && SEGMENT_ID.test(id as string),
    );
    storage.set(key, JSON.stringify(persisted.slice(-MAX_SEEN)));
  };
}
