import { features } from './features';
import { jsonCodecWithDestinations } from './protocol/codec';
import { createDestinations } from './core/destinations';

// Side effect on purpose: answers' `pixels` and `cookies` are read and applied in this build.
features.v1 = jsonCodecWithDestinations;
features.destinations = createDestinations;
