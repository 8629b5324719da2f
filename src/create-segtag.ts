import { createBrowserPlatform } from './browser/platform';
import { createClient } from './core/client';
import { resolveConfig } from './core/config';
import type { Segtag, SegtagConfig } from './types';

/**
 * Creates an independent segtag instance for one site. Throws a TypeError naming
 * the problem when the config is invalid; touches no global until it is called.
 */
export function createSegtag(config: SegtagConfig): Segtag {
  const cfg = resolveConfig(config);
  return createClient(cfg, createBrowserPlatform(cfg.domain));
}
