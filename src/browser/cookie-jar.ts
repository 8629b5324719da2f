import Cookies from 'js-cookie';
import type { CookieJar } from '../core/platform';

const PROBE = 'segtag_probe';

const dotless = (domain: string) => (domain + '').replace(/^\./, '').toLowerCase();

/** Candidate domains from broadest to narrowest; none for IPs, localhost and other single labels. */
export function candidateDomains(hostname: string): string[] {
  const labels = hostname.split('.');
  return /^[\d.]+$|:/.test(hostname) ? [] : labels.slice(1).map((_, i) => labels.slice(-2 - i).join('.'));
}

type Attributes = Cookies.CookieAttributes;

/**
 * The broadest domain that accepts a test cookie (`www.news.example.co.uk` ->
 * `example.co.uk`: the browser refuses `co.uk`, a public suffix), or undefined
 * for a host-only cookie.
 */
function probeDomain(hostname: string, attributes: (domain?: string) => Attributes): string | undefined {
  for (const domain of candidateDomains(hostname)) {
    Cookies.set(PROBE, '1', attributes(domain));
    if (Cookies.get(PROBE)) {
      Cookies.remove(PROBE, attributes(domain));
      return domain;
    }
  }
}

/**
 * segtag's only door to document.cookie. Every operation is guarded: a sandboxed
 * frame throws on cookie access, and another script's malformed cookie must not break us.
 * js-cookie's default attributes add `path=/`.
 */
export function createCookieJar(domainSetting: string, hostname: string, secure: boolean): CookieJar {
  let domain: string | undefined | null = domainSetting == 'auto' ? null : domainSetting;
  const withDomain = (d?: string): Attributes => ({ domain: d, secure, sameSite: 'Lax' });
  const attributes = (explicit?: string) => {
    if (domain === null) {
      try {
        domain = probeDomain(hostname, withDomain);
      } catch {
        domain = undefined;
      }
    }
    return withDomain(explicit || domain);
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
