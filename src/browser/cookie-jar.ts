import JsCookie from 'js-cookie';
import type { CookieJar } from '../core/platform';

/**
 * The part of js-cookie segtag uses, and the only part the builds bundle
 * (scripts/js-cookie-write-only.mjs drops `get`, `withAttributes` and `withConverter`): reading
 * is done here, one read of document.cookie at a time. This type makes any other use a compile error.
 */
const Cookies: Pick<typeof JsCookie, 'set' | 'remove' | 'converter'> = JsCookie;

const PROBE = 'segtag_probe';

/** Candidate domains from broadest to narrowest; none for IPs, localhost and other single labels. */
export function candidateDomains(hostname: string): string[] {
  const labels = hostname.split('.');
  return /^[\d.]+$|:/.test(hostname) ? [] : labels.slice(1).map((_, i) => labels.slice(-2 - i).join('.'));
}

type Attributes = NonNullable<Parameters<typeof JsCookie.set>[2]>;

/**
 * The broadest domain that accepts a test cookie (`www.news.example.co.uk` ->
 * `example.co.uk`: the browser refuses `co.uk`, a public suffix), or undefined
 * for a host-only cookie.
 */
function probeDomain(hostname: string, attributes: (domain?: string) => Attributes): string | undefined {
  for (const domain of candidateDomains(hostname)) {
    Cookies.set(PROBE, '1', attributes(domain));
    if (document.cookie.split('; ').includes(PROBE + '=1')) {
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
  /**
   * The page's cookies (`name=value` pairs), read at most once per task: each read of
   * document.cookie is a synchronous round trip to the browser's cookie store, and js-cookie's
   * `get` reads it twice. Our own writes are put first (the newest); a removal re-reads.
   */
  let pairs: string[] | undefined;
  return {
    get(name) {
      try {
        if (!pairs) {
          pairs = document.cookie.split('; ');
          setTimeout(() => (pairs = undefined));
        }
        const pair = pairs.find((p) => p.startsWith(name + '='));
        if (pair) return Cookies.converter.read(pair.slice(name.length + 1), name);
      } catch {}
    },
    set(name, value, days) {
      try {
        // js-cookie answers the `name=value; attributes` string it wrote.
        const written = Cookies.set(name, value, { ...attributes(), expires: days })!;
        pairs?.unshift(written.split(';')[0]);
      } catch {}
    },
    remove(name) {
      try {
        Cookies.remove(name, attributes());
        pairs = undefined;
      } catch {}
    },
    encode: (value) => Cookies.converter.write(value, ''),
    _domain: () => attributes().domain || hostname,
  };
}
