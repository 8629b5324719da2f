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
  /**
   * Validates `config.cookieDestinations` (before any CMP is asked) and names those cookies,
   * so that the consent gate deletes them on denial like segtag's own, earlier pages' included;
   * `create` gets the gated platform and adds the (gated) pixel firer.
   */
  destinations?: (
    cfg: ResolvedConfig,
    config: SegtagConfig,
  ) => { cookies: string[]; create: (platform: Platform, consent: Consent) => Destinations };
  autoPage?: (tag: Segtag, context: () => PageContext) => Segtag;
} = {};
