import Cookies from 'js-cookie';
import type { CookieJar } from '../core/platform';

const PROBE = 'segtag_probe';

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
  /** The attributes of every cookie; the broadest domain is probed on first use. */
  const attributes = () => {
    if (domain === null) {
      try {
        domain = probeDomain(hostname, withDomain);
      } catch {
        domain = undefined;
      }
    }
    return withDomain(domain);
  };
  return {
    get(name) {
      try {
        return Cookies.get(name);
      } catch {}
    },
    set(name, value, days) {
      try {
        Cookies.set(name, value, { ...attributes(), expires: days });
      } catch {}
    },
    remove(name) {
      try {
        Cookies.remove(name, attributes());
      } catch {}
    },
    encode: (value) => Cookies.converter.write(value, ''),
    _domain: () => attributes().domain || hostname,
  };
}
