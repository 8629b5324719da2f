import type { Codec } from './codec';
import type { ResolvedConfig } from './config';
import type { Consent } from './consent';
import type { Destinations } from './destinations';
import type { PageContext, Platform } from './platform';
import type { Segtag } from './types';

/**
 * The optional parts of segtag, passed to `createSegtag` by the app (npm) or by the script-tag
 * build that carries them. Nothing registers itself: what is not imported is not bundled, and
 * a config that names a feature that was not passed is rejected the same way in every build.
 * Their members are internal (`_`-prefixed, mangled in the builds).
 */
export interface SegtagFeatures {
  /** `protocol: 'dcs'`: Audience Manager's `/event` format (`segtag/dcs`). */
  dcs?: DcsFeature;
  /** Pixel syncs, cookie destinations and `onDestinations` (`segtag/destinations`). */
  destinations?: DestinationsFeature;
  /** `autoPage: true`: page views on single-page apps' navigations (`segtag/auto-page`). */
  autoPage?: AutoPageFeature;
}

export interface DcsFeature {
  /** @internal */
  _codec: Codec;
}

/** The destinations of one instance, before the platform exists. */
export interface ResolvedDestinations {
  /** The `cookieDestinations` names: consent denial deletes them like segtag's own cookies. */
  _cookies: string[];
  /** Built on the consent-gated platform. */
  _create(platform: Platform, consent: Consent): Destinations;
}

export interface DestinationsFeature {
  /** @internal Protocol v1 that also reads an answer's `pixels` and `cookies`. */
  _codec: Codec;
  /** @internal Validates `cookieDestinations` before any consent source is asked. */
  _resolve(cfg: ResolvedConfig, cookieDestinations: unknown): ResolvedDestinations;
}

export interface AutoPageFeature {
  /** @internal Wraps the instance's page() and destroy(). */
  _wrap(tag: Segtag, context: () => PageContext): Segtag;
}
