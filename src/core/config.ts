import type { CookieConfig, SegtagConfig } from './types';
import type { SegmentFormat } from './segment-cookie';
import type { ConsentMode } from './consent';
import { isText, check, isNum } from './fail';

/** The `cookie` settings, validated, defaults filled (internal names: the builds shorten them). */
export interface ResolvedCookie extends SegmentFormat {
  name: string;
  _days: number;
  domain: string;
  _maxBytes: number;
}

/** The config, validated, defaults filled. */
export interface ResolvedConfig extends ResolvedCookie {
  _endpoint: string;
  site: string;
  _timeout: number;
  _autoPage: boolean;
  _debug: boolean;
  /** `'dcs'`: Audience Manager's /event format, through the dcs feature (checked by createSegtag). */
  _protocol: 'v1' | 'dcs';
  consent: ConsentMode;
  /** 0: none. */
  _vendorId: number;
}

/** Validates the `cookie` settings (shared with `segtag/cookie`) and fills the defaults. */
export function resolveCookie(cookie: CookieConfig = {}): ResolvedCookie {
  const { name = 'segtag', key = 'seg', days = 30, domain = 'auto', maxBytes = 3000, format = 'single' } = cookie;
  const { keySeparator = '=', valueSeparator = format == 'pairs' ? '&' : ',' } = cookie;
  check(isText(name, /^[\w-]{1,64}$/), 'cookie.name');
  check(isText(key, /^[A-Za-z_]\w{0,19}$/), 'cookie.key');
  check(isNum(days, 0.001, 400), 'cookie.days');
  check(isText(domain, /^(auto|\.?[a-z0-9.-]+)$/i), 'cookie.domain');
  check(isNum(maxBytes, 64, 4096), 'cookie.maxBytes');
  check(format == 'single' || format == 'pairs', 'cookie.format');
  // Separators: one character each, different, that cannot appear in a segment id or a key,
  // and that every cookie reader decodes alike (js-cookie writes `=&|/~!*^@#$` literally and
  // percent-encodes `,;`; `+` is left out: PHP decodes it to a space).
  const isSep = (x: string) => /^[=,&|;/~!*^@#$]$/.test(x);
  check(isSep(keySeparator), 'cookie.keySeparator');
  check(isSep(valueSeparator) && keySeparator != valueSeparator, 'cookie.valueSeparator');
  return {
    name,
    key,
    _days: days,
    domain,
    _maxBytes: maxBytes,
    _format: format,
    _keySeparator: keySeparator,
    _valueSeparator: valueSeparator,
  };
}

/**
 * Validates a publisher's config and fills the defaults. Throws a TypeError naming the problem.
 * `cookieDestinations` is the destinations feature's (`resolveCookieDestinations`);
 * createSegtag rejects a non-empty list when that feature was not passed.
 */
export function resolveConfig(config: SegtagConfig): ResolvedConfig {
  check(config && typeof config == 'object', 'config');
  const { endpoint, site, timeout = 2000, cookie, autoPage, debug = false, protocol = 'v1', consent = {} } = config;
  check(isText(endpoint, /^(https?:\/)?\/\S+$/), 'endpoint');
  check(isText(site, /^[\w.:-]{1,64}$/), 'site');
  check(isNum(timeout, 1, 60000), 'timeout');
  check(protocol == 'v1' || protocol == 'dcs', 'protocol');
  const resolved = resolveCookie(cookie);
  const { mode = 'auto', vendorId = 0 } = Object(consent);
  // `consent: 'out'` must not silently mean 'auto'.
  check(consent && typeof consent == 'object', 'consent');
  check(/^(auto|in|pending|out)$/.test(mode), 'consent.mode');
  check(isNum(vendorId, 0, 65535) && vendorId % 1 == 0, 'consent.vendorId');
  return {
    _endpoint: endpoint,
    site,
    _timeout: timeout,
    ...resolved,
    _autoPage: !!autoPage,
    _debug: !!debug,
    _protocol: protocol,
    consent: mode,
    _vendorId: vendorId,
  };
}
