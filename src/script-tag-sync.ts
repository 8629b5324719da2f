// segtag-sync.min.js: the standard tag plus pixel syncs, cookie destinations and single-page
// apps' automatic page views.
import { autoPage } from './auto-page';
import { destinations } from './destinations';
import { installCommandQueue } from './script-tag/install';

installCommandQueue({ destinations, autoPage });
