import { createBrowserPlatform } from './browser/platform';
import { readConsentSignals } from './browser/consent-signals';
import { createClient, UID_COOKIE } from './core/client';
import { jsonCodec } from './core/codec';
import { resolveConfig } from './core/config';
import { createConsent } from './core/consent';
import { check } from './core/fail';
import type { SegtagFeatures } from './core/features';
import { gatePlatform } from './core/gate-platform';
import type { Segtag, SegtagConfig } from './core/types';

/** A config option that needs a feature the caller did not pass. */
const requireFeature = (used: unknown, feature: unknown, option: string, name: string) =>
  check(!used || feature, `${option} (feature ${name} not included)`);

/**
 * Creates an independent segtag instance for one site, with the optional features passed in
 * `features` (npm: `createSegtag(config, { destinations, autoPage })`). Throws a TypeError naming
 * the problem when the config is invalid or names a feature not passed; touches no global until
 * it is called.
 */
export function createSegtag(config: SegtagConfig, features: SegtagFeatures = {}): Segtag {
  const cfg = resolveConfig(config);
  const { dcs, destinations, autoPage } = features;
  requireFeature(cfg._protocol == 'dcs', dcs, 'protocol', 'dcs');
  requireFeature(cfg._autoPage, autoPage, 'autoPage', 'autoPage');
  requireFeature(
    (config.cookieDestinations as unknown[] | undefined)?.length,
    destinations,
    'cookieDestinations',
    'destinations',
  );
  const resolved = destinations?._resolve(cfg, config.cookieDestinations);
  const consent = createConsent(cfg.consent);
  const own = [cfg.name, UID_COOKIE].concat(resolved?._cookies || []);
  const platform = gatePlatform(createBrowserPlatform(cfg.domain), consent, own);
  // After the gate exists, so that a denial found now deletes segtag's earlier cookies.
  if (cfg.consent == 'auto') readConsentSignals(consent, cfg._vendorId);
  // The features the config names were checked above.
  const codec = cfg._protocol == 'dcs' ? dcs!._codec : destinations?._codec || jsonCodec;
  const tag = createClient(cfg, platform, codec, resolved?._create(platform, consent), consent);
  return cfg._autoPage ? autoPage!._wrap(tag, platform._context) : tag;
}
