import { fire } from './browser/pixel';
import { jsonCodecWithDestinations } from './core/codec';
import { resolveCookieDestinations } from './core/cookie-destinations';
import { createDestinations } from './core/destinations';
import type { DestinationsFeature } from './core/features';
import { gatePixels } from './core/gate-platform';

/**
 * `segtag/destinations`: pixel syncs and cookie destinations from the server's answers, and
 * `onDestinations`: `createSegtag({ ..., cookieDestinations: ['aam'] }, { destinations })`.
 * Pixels fire as images, behind the consent gate. Rules: docs/destinations.md.
 */
export const destinations: DestinationsFeature = {
  _codec: jsonCodecWithDestinations,
  _resolve(cfg, cookieDestinations) {
    const withCookies = resolveCookieDestinations(cfg, cookieDestinations);
    return {
      _cookies: withCookies.cookieDestinations,
      _create: (platform, consent) => createDestinations(withCookies, { ...platform, ...gatePixels(fire, consent) }),
    };
  },
};

export type { DestinationsFeature };
