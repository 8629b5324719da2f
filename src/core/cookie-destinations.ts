import type { ParsedCookie } from '../protocol/destinations';
import type { ResolvedConfig } from './config';
import type { CookieJar } from './platform';
import type { Emit } from './destinations';
import { check } from './fail';

/** The config of a build with destinations: cookie names the server may write. */
export type DestinationsConfig = ResolvedConfig & { cookieDestinations: string[] };

/**
 * Validates the `cookieDestinations` allowlist (default none) and adds a copy of it to
 * `cfg`: names of `[A-Za-z0-9_-]`, never segtag's own cookies.
 */
export function resolveCookieDestinations(cfg: ResolvedConfig, list: unknown = []): DestinationsConfig {
  check(
    Array.isArray(list) && list.every((n) => typeof n == 'string' && /^[\w-]{1,64}$/.test(n) && n != cfg.name && n != 'segtag_uid'),
    'cookieDestinations',
  );
  return { ...cfg, cookieDestinations: list.slice() };
}

/**
 * Writes the cookie destinations the config allows: the name is in `cookieDestinations`,
 * the value is printable ASCII (the jar stores it encoded, so the stored bytes are always
 * RFC 6265 cookie-octets), name + encoded value fit `cookie.maxBytes`, and the domain, if
 * any, is the one segtag's own cookies use. Everything else is skipped with a reason.
 */
export function writeCookieDestinations(list: ParsedCookie[], cfg: DestinationsConfig, cookies: CookieJar, emit: Emit) {
  for (const { name, value, ttl, domain } of list) {
    const reason = !cfg.cookieDestinations.includes(name)
      ? 'name'
      : /[^ -~]/.test(value)
        ? 'value'
        : name.length + cookies.encode(value).length > cfg.maxBytes
          ? 'size'
          : cookies.set(name, value, (ttl as number) > 0 && (ttl as number) <= 400 ? +(ttl as number) : cfg.days, domain as string) === false && 'domain';
    emit('cookie', name, reason ? 'skipped' : 'written', reason || undefined);
  }
}
