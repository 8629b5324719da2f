// `segtag`: the call loop (protocol v1), and the integrations re-exported for convenience. Every
// module is free of side effects, so an app's bundler keeps only what the app imports. The
// optional features have their own entries: segtag/dcs, segtag/destinations, segtag/auto-page.
export { createSegtag } from './create-segtag';
export * from './gpt';
export * from './prebid';
export * from './ad-server';
export type { AutoPageFeature, DcsFeature, DestinationsFeature, SegtagFeatures } from './core/features';
export type {
  CallResult,
  ConsentConfig,
  CookieConfig,
  DeclaredIds,
  DestinationOutcome,
  Segtag,
  SegtagConfig,
  SignalValue,
  Signals,
  Targeting,
} from './types';
