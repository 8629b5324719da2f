/**
 * The core's createClient with the defaults tests want: protocol v1 without destinations and
 * consent granted, unless a test passes its own. createSegtag always passes all of them.
 */
import { createClient as create } from '../../src/core/client';
import { jsonCodec } from '../../src/core/codec';
import { createConsent } from '../../src/core/consent';

export { UID_COOKIE } from '../../src/core/client';

export const createClient = (
  cfg: Parameters<typeof create>[0],
  platform: Parameters<typeof create>[1],
  codec = jsonCodec,
  destinations?: Parameters<typeof create>[3],
  consent = createConsent('in'),
) => create(cfg, platform, codec, destinations, consent);
