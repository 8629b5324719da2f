import { createBrowserPlatform } from './browser/platform';
import { readConsentSignals } from './browser/consent-signals';
import { createClient, UID_COOKIE } from './core/client';
import { resolveConfig } from './core/config';
import { check } from './core/fail';
import { features } from './features';
import { createConsent } from './core/consent';
import { gatePlatform } from './core/gate-platform';
import type { Segtag, SegtagConfig } from './types';

/**
 * Creates an independent segtag instance for one site. Throws a TypeError naming
 * the problem when the config is invalid; touches no global until it is called.
 */
export function createSegtag(config: SegtagConfig): Segtag {
  const cfg = resolveConfig(config);
  const codec = cfg.protocol == 'dcs' ? features.dcs : features.v1;
  check(cfg.protocol == 'v1' || codec, 'protocol (dcs: segtag-aam.min.js)');
  // Single-page apps use the npm build or segtag-sync.min.js.
  check(!cfg.autoPage || features.autoPage, 'autoPage (true: segtag-sync.min.js)');
  const destinations = features.destinations?.(cfg, config);
  const consent = createConsent(cfg.consent);
  const own = [cfg.name, UID_COOKIE].concat(destinations?.cookies || []);
  const platform = gatePlatform(createBrowserPlatform(cfg.domain), consent, own);
  // After the gate exists, so that a denial found now deletes segtag's earlier cookies.
  if (cfg.consent == 'auto') readConsentSignals(consent, cfg.vendorId);
  const tag = createClient(cfg, platform, codec, destinations?.create(platform, consent), consent);
  return cfg.autoPage ? features.autoPage!(tag, platform.context) : tag;
}
