import type { Codec } from './protocol/codec';
import type { Destinations } from './core/destinations';
import type { ResolvedConfig } from './core/config';
import type { Consent } from './core/consent';
import type { PageContext, Platform } from './core/platform';
import type { Segtag, SegtagConfig } from './types';

/**
 * What a build carries besides the standard script tag's call loop. Each entry file
 * registers what it ships (`src/register-*.ts`), so `segtag.min.js` stays small:
 * - `dcs`: Audience Manager's /event format (`protocol: 'dcs'`): npm and segtag-aam.min.js.
 * - `v1` + `destinations`: pixel syncs and cookie destinations: npm, segtag-sync.min.js
 *   and segtag-aam.min.js.
 * - `autoPage`: page views on same-document navigations (`autoPage: true`): npm,
 *   segtag-sync.min.js and segtag-aam.min.js.
 */
export const features: {
  dcs?: Codec;
  v1?: Codec;
  /** `platform` is consent-gated; the factory adds the (gated) pixel firer and validates `config.cookieDestinations`. */
  destinations?: (cfg: ResolvedConfig, config: SegtagConfig, platform: Platform, consent: Consent) => Destinations;
  autoPage?: (tag: Segtag, context: () => PageContext) => Segtag;
} = {};
