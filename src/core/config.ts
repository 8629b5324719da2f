import type { SegtagConfig } from '../types';
import type { ConsentMode } from './consent';
import { check } from './fail';

export interface ResolvedConfig {
  endpoint: string;
  site: string;
  timeout: number;
  name: string;
  key: string;
  days: number;
  domain: string;
  maxBytes: number;
  debug: boolean;
  consent: ConsentMode;
  /** 0: none. */
  vendorId: number;
}

const isNum = (x: unknown, min: number, max: number): x is number =>
  typeof x == 'number' && x >= min && x <= max;

/** Validates a publisher's config and fills the defaults. Throws a TypeError naming the problem. */
export function resolveConfig(config: SegtagConfig): ResolvedConfig {
  check(config && typeof config == 'object', 'config must be an object');
  const { endpoint, site, timeout = 2000, cookie = {}, debug = false, consent = {} } = config;
  const { name = 'segtag', key = 'seg', days = 30, domain = 'auto', maxBytes = 3000 } = cookie;
  check(typeof endpoint == 'string' && /^(https?:\/)?\/\S+$/.test(endpoint), 'endpoint must be an http(s) URL or a path');
  check(typeof site == 'string' && /^[\w.:-]{1,64}$/.test(site), 'site must be 1-64 of [A-Za-z0-9_.:-]');
  check(isNum(timeout, 1, 60000), 'timeout must be 1-60000 ms');
  check(typeof name == 'string' && /^[\w-]{1,64}$/.test(name), 'cookie.name must be 1-64 of [A-Za-z0-9_-]');
  check(typeof key == 'string' && /^[A-Za-z_]\w{0,19}$/.test(key), 'cookie.key must be 1-20 of [A-Za-z0-9_], not starting with a digit');
  check(isNum(days, 0.001, 400), 'cookie.days must be in (0, 400]');
  check(typeof domain == 'string' && /^(auto|\.?[a-z0-9.-]+)$/i.test(domain), "cookie.domain must be 'auto' or a domain");
  check(isNum(maxBytes, 64, 4096), 'cookie.maxBytes must be 64-4096');
  const { mode = 'auto', vendorId = 0 } = Object(consent);
  // `consent: 'out'` must not silently mean 'auto'.
  check(
    consent && typeof consent == 'object' && /^(auto|in|pending|out)$/.test(mode) && isNum(vendorId, 0, 65535) && vendorId % 1 == 0,
    'consent must be { mode: auto|in|pending|out, vendorId: 1-65535 }',
  );
  return { endpoint, site, timeout, name, key, days, domain, maxBytes, debug: !!debug, consent: mode, vendorId };
}
