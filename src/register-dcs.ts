import { features } from './features';
import { dcs } from './protocol/dcs';

// Side effect on purpose: makes `protocol: 'dcs'` available to createSegtag in this build.
features.dcs = dcs;
