// `segtag/gpt`: Google Publisher Tag targeting from segtag's segments, within GAM's key-value rules.
export { applyGpt, type GoogletagLike, type GptOptions, type GptTargetable } from './integrations/gpt';
export { gamTargeting } from './integrations/gam-rules';
