import { dcsCodec } from './core/dcs-codec';
import type { DcsFeature } from './core/features';

/**
 * `segtag/dcs`: Audience Manager's `/event` format, for `protocol: 'dcs'`:
 * `createSegtag({ ..., protocol: 'dcs' }, { dcs })`. Mapping: docs/audience-manager.md.
 */
export const dcs: DcsFeature = { _codec: dcsCodec };

export type { DcsFeature };
