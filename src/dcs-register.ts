import { codecs } from './create-segtag';
import { dcs } from './protocol/dcs';

// Side effect on purpose: makes `protocol: 'dcs'` available to createSegtag in this build.
codecs.dcs = dcs;
