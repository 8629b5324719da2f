import { createBrowserPlatform } from './browser/platform';
import { createClient } from './core/client';
import { resolveConfig } from './core/config';
import { check } from './core/fail';
import { features } from './features';
import type { Segtag, SegtagConfig } from './types';

/**
 * Creates an independent segtag instance for one site. Throws a TypeError naming
 * the problem when the config is invalid; touches no global until it is called.
 */
export function createSegtag(config: SegtagConfig): Segtag {
  const cfg = resolveConfig(config);
  const codec = cfg.protocol == 'dcs' ? features.dcs : features.v1;
  check(cfg.protocol == 'v1' || codec, "protocol must be 'v1' or 'dcs' (dcs: segtag-aam.min.js)");
  const platform = createBrowserPlatform(cfg.domain);
  return createClient(cfg, platform, codec, features.destinations?.(cfg, platform));
}
