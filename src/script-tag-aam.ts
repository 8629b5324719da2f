// segtag-aam.min.js: segtag-sync.min.js plus Audience Manager's /event format (`protocol: 'dcs'`).
import { autoPage } from './auto-page';
import { dcs } from './dcs';
import { destinations } from './destinations';
import { installCommandQueue } from './script-tag/install';

installCommandQueue({ dcs, destinations, autoPage });
