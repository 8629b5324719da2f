/**
 * `segtag/cookie`: read the segment cookie on a server (Node, edge runtimes, workers).
 * DOM-free: no js-cookie, no globals. It shares the format code with the browser
 * (src/core/segment-cookie.ts) and validates options like `createSegtag`'s `cookie`.
 */
import { resolveCookie } from './core/config';
import { parseSegments } from './core/segment-cookie';
import { MAX_SEGMENTS } from './protocol/parse-response';
import type { CookieConfig, Targeting } from './types';

export type { CookieConfig, Targeting } from './types';

/**
 * js-cookie's value decoding (`converter.read`), which the browser side uses: surrounding
 * double quotes removed, percent sequences decoded, anything else literal. Returns undefined
 * where js-cookie throws (`%E0%A4` is not UTF-8), so a malformed cookie is skipped the same way.
 */
export function decodeCookieValue(value: string): string | undefined {
  try {
    return (value[0] == '"' ? value.slice(1, -1) : value).replace(/(%[\dA-F]{2})+/gi, decodeURIComponent);
  } catch {}
}

/**
 * The targeting in a request's `Cookie` header: `{ seg: ['1001', '1004'] }`, `{}` when the
 * segment cookie is absent, empty or unreadable. Pass the `cookie` settings given to
 * `createSegtag` (name, key, format, separators). Never throws for any header; throws a
 * TypeError for invalid options.
 *
 *   parseSegmentCookie(req.headers.cookie, { name: 'segtag' })          // Node
 *   parseSegmentCookie(request.headers.get('cookie'))                   // fetch / edge
 */
export function parseSegmentCookie(
  cookieHeader: string | string[] | null | undefined,
  options?: CookieConfig,
): Targeting {
  const f = resolveCookie(options);
  const header = Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader;
  if (typeof header != 'string') return {};
  // Like js-cookie: the first cookie of that name that decodes (browsers send the most
  // specific path first).
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() != f.name) continue;
    const value = decodeCookieValue(part.slice(eq + 1).trim());
    if (value == null) continue;
    const segments = parseSegments(value, f).slice(0, MAX_SEGMENTS);
    return segments.length ? { [f.key]: segments } : {};
  }
  return {};
}
