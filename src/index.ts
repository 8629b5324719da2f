import './register-dcs';
import './register-destinations';
import './register-auto-page';
export { createSegtag } from './create-segtag';
export { applyGpt, type GoogletagLike, type GptOptions, type GptTargetable } from './integrations/gpt';
export { gamTargeting } from './integrations/gam-rules';
export { applyPrebid, toOrtb2, type Ortb2Fragment, type Ortb2Options, type OrtbData, type PbjsLike, type PrebidOptions } from './integrations/prebid';
export { toAdServerParams, type AdServerOptions, type AdServerStyle } from './integrations/ad-server';
export type { CallResult, ConsentConfig, DestinationOutcome, CookieConfig, Segtag, SegtagConfig, Targeting, DeclaredIds, Signals, SignalValue } from './types';
