import { createBrowserPlatform } from './browser/platform';
import { createClient } from './core/client';
import { resolveConfig } from './core/config';
import { check } from './core/fail';
import type { Codec } from './protocol/codec';
import type { Segtag, SegtagConfig } from './types';

/**
 * Codecs a build carries besides protocol v1: `src/dcs-register.ts` adds Audience Manager's
 * in the npm build and `segtag-aam.min.js`, so the standard script tag stays without it.
 */
export const codecs: { dcs?: Codec } = {};

/**
 * Creates an independent segtag instance for one site. Throws a TypeError naming
 * the problem when the config is invalid; touches no global until it is called.
 */
export function createSegtag(config: SegtagConfig): Segtag {
  const cfg = resolveConfig(config);
  const codec = cfg.protocol == 'dcs' ? codecs.dcs : undefined;
  check(cfg.protocol == 'v1' || codec, "protocol must be 'v1' or 'dcs' (dcs: segtag-aam.min.js)");
  return createClient(cfg, createBrowserPlatform(cfg.domain), codec);
}
