import './dcs-register';
export { createSegtag } from './create-segtag';
export { applyGpt, type GoogletagLike } from './integrations/gpt';
export type { CallResult, DestinationOutcome, CookieConfig, Segtag, SegtagConfig, Targeting, DeclaredIds, Signals, SignalValue } from './types';
