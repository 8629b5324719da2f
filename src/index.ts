export { createSegtag } from './create-segtag';
export { applyGpt, type GoogletagLike } from './integrations/gpt';
export type { CallResult, ConsentConfig, CookieConfig, Segtag, SegtagConfig, Targeting, DeclaredIds, Signals, SignalValue } from './types';
