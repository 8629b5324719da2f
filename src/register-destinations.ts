import { features } from './features';
import { jsonCodecWithDestinations } from './protocol/codec';
import { createDestinations } from './core/destinations';
import { resolveCookieDestinations } from './core/cookie-destinations';
import { gatePixels } from './core/gate-platform';
import { fire } from './browser/pixel';

// Side effect on purpose: answers' `pixels` and `cookies` are read and applied in this build,
// which is the only one that fires pixels (behind the consent gate).
features.v1 = jsonCodecWithDestinations;
features.destinations = (cfg, config) => {
  const withCookies = resolveCookieDestinations(cfg, config.cookieDestinations);
  return {
    cookies: withCookies.cookieDestinations,
    create: (platform, consent) => createDestinations(withCookies, { ...platform, ...gatePixels(fire, consent) }),
  };
};
