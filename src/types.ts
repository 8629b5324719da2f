// The SDK's public types; they are defined with the call loop that implements them (src/core/types.ts).
export type * from './core/types';
