import type { CookieDestination } from '../protocol/types';
import type { ResolvedConfig } from './config';
import type { CookieJar } from './platform';
import type { Emit } from './destinations';
import { UID_COOKIE } from './client';
import { isText, check } from './fail';
import type { DestinationOutcome } from './types';

/** The config with the destinations feature: cookie names the server may write. */
export type DestinationsConfig = ResolvedConfig & { cookieDestinations: string[] };

/**
 * Validates the `cookieDestinations` allowlist (default none) and adds a copy of it to
 * `cfg`: names of `[A-Za-z0-9_-]`, never segtag's own cookies.
 */
export function resolveCookieDestinations(cfg: ResolvedConfig, list: unknown = []): DestinationsConfig {
  check(
    Array.isArray(list) && list.every((n) => isText(n, /^[\w-]{1,64}$/) && n != cfg.name && n != UID_COOKIE),
    'cookieDestinations',
  );
  return { ...cfg, cookieDestinations: list.slice() };
}

const dotless = (domain: string) => domain.replace(/^\./, '').toLowerCase();

/**
 * Why a cookie destination may not be written, or undefined when it may: the name must be in
 * `cookieDestinations`, the value printable ASCII (the jar stores it encoded, so the stored
 * bytes are always RFC 6265 cookie-octets), name + encoded value must fit `cookie.maxBytes`,
 * and a `domain`, when the answer names one, must be the one segtag's own cookies use (a
 * leading dot and case aside).
 */
function refusal(
  { name, value, domain }: CookieDestination,
  cfg: DestinationsConfig,
  cookies: CookieJar,
): DestinationOutcome['reason'] {
  if (!cfg.cookieDestinations.includes(name)) return 'name';
  if (/[^ -~]/.test(value)) return 'value';
  if (name.length + cookies.encode(value).length > cfg._maxBytes) return 'size';
  if (domain != null && dotless(domain) != dotless(cookies._domain())) return 'domain';
}

/**
 * Writes the cookie destinations the config allows, for `ttl` days (default `cookie.days`), on
 * the domain of segtag's own cookies; every other is skipped with its reason. Every cookie is
 * reported.
 */
export function writeCookieDestinations(
  list: CookieDestination[],
  cfg: DestinationsConfig,
  cookies: CookieJar,
  emit: Emit,
) {
  for (const cookie of list) {
    const reason = refusal(cookie, cfg, cookies);
    if (!reason) cookies.set(cookie.name, cookie.value, cookie.ttl || cfg._days);
    emit('cookie', cookie.name, reason ? 'skipped' : 'written', reason);
  }
}
