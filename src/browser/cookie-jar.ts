import Cookies from 'js-cookie';
import type { CookieJar } from '../core/platform';

const PROBE = 'segtag_probe';

const dotless = (domain: string) => (domain + '').replace(/^\./, '').toLowerCase();

/** Candidate domains from broadest to narrowest; none for IPs, localhost and other single labels. */
export function candidateDomains(hostname: string): string[] {
  if (!hostname.includes('.') || /^[\d.]+$|:/.test(hostname)) return [];
  const labels = hostname.split('.');
  return labels.slice(0, -1).map((_, i) => labels.slice(-2 - i).join('.'));
}

/**
 * The broadest domain that accepts a test cookie (`www.news.example.co.uk` ->
 * `example.co.uk`: the browser refuses `co.uk`, a public suffix), or undefined
 * for a host-only cookie.
 */
function probeDomain(hostname: string, secure: boolean): string | undefined {
  for (const domain of candidateDomains(hostname)) {
    const attrs = { domain, secure, sameSite: 'Lax' as const };
    Cookies.set(PROBE, '1', attrs);
    if (Cookies.get(PROBE)) {
      Cookies.remove(PROBE, attrs);
      return domain;
    }
  }
}

/**
 * segtag's only door to document.cookie. Every operation is guarded: a sandboxed
 * frame throws on cookie access, and another script's malformed cookie must not break us.
 */
export function createCookieJar(domainSetting: string, hostname: string, secure: boolean): CookieJar {
  let domain: string | undefined | null = domainSetting == 'auto' ? null : domainSetting;
  const attributes = (explicit?: string) => {
    if (domain === null) {
      try {
        domain = probeDomain(hostname, secure);
      } catch {
        domain = undefined;
      }
    }
    return { path: '/', domain: explicit || domain, secure, sameSite: 'Lax' as const };
  };
  return {
    get(name) {
      try {
        return Cookies.get(name);
      } catch {}
    },
    set(name, value, days, d) {
      try {
        const a = attributes();
        // A cookie destination's domain must be the one segtag's own cookies use.
        if (d != null && dotless(d) != dotless(a.domain || hostname)) return false;
        Cookies.set(name, value, { ...a, expires: days });
      } catch {}
    },
    remove(name, d) {
      try {
        Cookies.remove(name, attributes(d));
      } catch {}
    },
    encode: (value) => Cookies.converter.write(value, ''),
  };
}
