import type { CookieConfig, SegtagConfig } from '../types';
import type { SegmentFormat } from './segment-cookie';
import type { ConsentMode } from './consent';
import { check } from './fail';

export interface ResolvedCookie extends SegmentFormat {
  name: string;
  days: number;
  domain: string;
  maxBytes: number;
}

export interface ResolvedConfig extends ResolvedCookie {
  endpoint: string;
  site: string;
  timeout: number;
  autoPage: boolean;
  debug: boolean;
  /** Cookie names the server may write as cookie destinations. */
  cookieDestinations: string[];
  /** `'dcs'`: Audience Manager's /event format, through an injected codec (checked by createSegtag). */
  protocol: string;
  consent: ConsentMode;
  /** 0: none. */
  vendorId: number;
}

const isNum = (x: unknown, min: number, max: number): x is number =>
  typeof x == 'number' && x >= min && x <= max;

/** Validates the `cookie` settings (shared with `segtag/cookie`) and fills the defaults. */
export function resolveCookie(cookie: CookieConfig = {}): ResolvedCookie {
  const { name = 'segtag', key = 'seg', days = 30, domain = 'auto', maxBytes = 3000, format = 'single' } = cookie;
  const { keySeparator = '=', valueSeparator = format == 'pairs' ? '&' : ',' } = cookie;
  check(typeof name == 'string' && /^[\w-]{1,64}$/.test(name), 'cookie.name must be 1-64 of [A-Za-z0-9_-]');
  check(typeof key == 'string' && /^[A-Za-z_]\w{0,19}$/.test(key), 'cookie.key must be 1-20 of [A-Za-z0-9_], not starting with a digit');
  check(isNum(days, 0.001, 400), 'cookie.days must be in (0, 400]');
  check(typeof domain == 'string' && /^(auto|\.?[a-z0-9.-]+)$/i.test(domain), "cookie.domain must be 'auto' or a domain");
  check(isNum(maxBytes, 64, 4096), 'cookie.maxBytes must be 64-4096');
  check(format == 'single' || format == 'pairs', "cookie.format must be 'single' or 'pairs'");
  // Separators: one character each, different, that cannot appear in a segment id or a key,
  // and that every cookie reader decodes alike (js-cookie writes `=&|/~!*^@#$` literally and
  // percent-encodes `,;`; `+` is left out: PHP decodes it to a space).
  const isSep = (x: string) => /^[=,&|;/~!*^@#$]$/.test(x);
  check(isSep(keySeparator) && isSep(valueSeparator) && keySeparator != valueSeparator, 'cookie.keySeparator and valueSeparator must be two different of =,&|;/~!*^@#$');
  return { name, key, days, domain, maxBytes, format, keySeparator, valueSeparator };
}

/** Validates a publisher's config and fills the defaults. Throws a TypeError naming the problem. */
export function resolveConfig(config: SegtagConfig): ResolvedConfig {
  check(config && typeof config == 'object', 'config must be an object');
  const { endpoint, site, timeout = 2000, cookie, autoPage, debug = false, cookieDestinations = [], protocol = 'v1', consent = {} } = config;
  check(typeof endpoint == 'string' && /^(https?:\/)?\/\S+$/.test(endpoint), 'endpoint must be an http(s) URL or a path');
  check(typeof site == 'string' && /^[\w.:-]{1,64}$/.test(site), 'site must be 1-64 of [A-Za-z0-9_.:-]');
  check(isNum(timeout, 1, 60000), 'timeout must be 1-60000 ms');
  const resolved = resolveCookie(cookie);
  check(
    Array.isArray(cookieDestinations) &&
      cookieDestinations.every((n) => typeof n == 'string' && /^[\w-]{1,64}$/.test(n) && n != resolved.name && n != 'segtag_uid'),
    "cookieDestinations must be names of [A-Za-z0-9_-], not segtag's own",
  );
  const { mode = 'auto', vendorId = 0 } = Object(consent);
  // `consent: 'out'` must not silently mean 'auto'.
  check(
    consent && typeof consent == 'object' && /^(auto|in|pending|out)$/.test(mode) && isNum(vendorId, 0, 65535) && vendorId % 1 == 0,
    'consent must be { mode: auto|in|pending|out, vendorId: 1-65535 }',
  );
  return {
    endpoint, site, timeout, ...resolved, autoPage: !!autoPage, debug: !!debug,
    cookieDestinations: cookieDestinations.slice(), protocol, consent: mode, vendorId,
  };
}
