// segtag.min.js: the call loop with protocol v1, and the command queue.
import { installCommandQueue } from './script-tag/install';

installCommandQueue({});
