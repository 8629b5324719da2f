export { createSegtag } from './create-segtag';
export { applyGpt, type GoogletagLike } from './integrations/gpt';
export type { CallResult, CookieConfig, Segtag, SegtagConfig, Targeting, DeclaredIds, Signals, SignalValue } from './types';
