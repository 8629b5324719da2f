import type { DeclaredIds, Signals } from './protocol/types';

export type { DeclaredIds, Signals, SignalValue } from './protocol/types';

/** Key-values for an ad call: `{ seg: ['123', '456'] }`, `{}` when there are none. */
export type Targeting = Record<string, string[]>;

export interface CallResult {
  /** False when the call failed (network, timeout, HTTP status, malformed answer). */
  ok: boolean;
  /** The visitor's segments after the call (unchanged when it failed). */
  segments: string[];
  targeting: Targeting;
  error?: string;
}

export interface CookieConfig {
  /** Segment cookie name. Default `segtag`. */
  name?: string;
  /** Targeting key, stored in the cookie as `key=id,id`. Default `seg`. */
  key?: string;
  /** Lifetime in days when the server sends no `ttl`. Default 30, at most 400. */
  days?: number;
  /** `'auto'` (default): the broadest domain the browser accepts; or an explicit domain. */
  domain?: string;
  /** Cap on name + encoded value, in bytes. Default 3000, at most 4096. */
  maxBytes?: number;
}

export interface ConsentConfig {
  /**
   * `'auto'` (default): read the page's TCF v2 CMP, GPP CMP and Global Privacy Control;
   * `'in'`: granted; `'pending'`: hold everything until `setConsent('in')`; `'out'`: denied.
   */
  mode?: 'auto' | 'in' | 'pending' | 'out';
  /** Your IAB TCF vendor id: with TCF, device storage then also needs this vendor's consent. */
  vendorId?: number;
}

export interface SegtagConfig {
  /** The decisioning server's real-time call URL (absolute, or a path on this origin). */
  endpoint: string;
  /** Publisher site id. */
  site: string;
  /** Milliseconds before a call is abandoned. Default 2000. */
  timeout?: number;
  cookie?: CookieConfig;
  /** Log warnings and rejected commands to the console. */
  debug?: boolean;
  consent?: ConsentConfig;
}

export interface Segtag {
  /** Sends a page view. Never rejects for network or server failures. */
  page(signals?: Signals): Promise<CallResult>;
  /** Sends a named event. */
  track(name: string, signals?: Signals): Promise<CallResult>;
  /** Declared ids sent with later calls (never written to cookies). */
  identify(ids: DeclaredIds): void;
  /** Segments known now: from the cookie, else from memory; none without consent. */
  getSegments(): string[];
  getTargeting(): Targeting;
  /**
   * Resolves when this page's first call answers, or after `ms` (default 1000)
   * with what is already known. Never rejects.
   */
  ready(ms?: number): Promise<Targeting>;
  /** Called with the new targeting whenever the segments change. Returns unsubscribe. */
  onSegments(listener: (targeting: Targeting) => void): () => void;
  /** Overrides every automatic consent signal: `'out'` deletes segtag's cookies and stops it. */
  setConsent(choice: 'in' | 'out'): void;
  destroy(): void;
}
