import type { DeclaredIds, Signals } from '../protocol/types';

export type { DeclaredIds, Signals, SignalValue } from '../protocol/types';

/** Key-values for an ad call: `{ seg: ['123', '456'] }`, `{}` when there are none. */
export type Targeting = Record<string, string[]>;

export interface CallResult {
  /**
   * True when the server acknowledged the event. False when its call failed (network,
   * timeout, HTTP status, malformed answer) or delivery is held (offline, backing off):
   * the event stays queued and is resent, unless the server refused it with a 4xx.
   */
  ok: boolean;
  /** The visitor's segments after the call (unchanged when it failed). */
  segments: string[];
  targeting: Targeting;
  error?: string;
}

export interface CookieConfig {
  /** Segment cookie name. Default `segtag`. */
  name?: string;
  /** Targeting key, stored in the cookie as `key=id,id` (or `key=id&key=id`). Default `seg`. */
  key?: string;
  /**
   * `'single'` (default): one key with serialized values, `seg=1,2`;
   * `'pairs'`: key-value pairs, `seg=1&seg=2`.
   */
  format?: 'single' | 'pairs';
  /** Between the key and a value: one of `= , & | ; / ~ ! * ^ @ # $`. Default `=`. */
  keySeparator?: string;
  /** Between values (`single`) or pairs (`pairs`): one of the same, not the key separator. Default `,` (`single`), `&` (`pairs`). */
  valueSeparator?: string;
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
  /**
   * Single-page apps: send a page view on every same-document navigation
   * (`history.pushState`, a `replaceState` that changes the path, back/forward). Default false.
   * `true` needs the autoPage feature (npm: `segtag/auto-page`; segtag-sync.min.js and
   * segtag-aam.min.js carry it); without it createSegtag throws a TypeError.
   */
  autoPage?: boolean;
  /** Log warnings, rejected commands and destination outcomes to the console. */
  debug?: boolean;
  /**
   * Cookie names the server may write as cookie destinations (default none). Names of
   * `[A-Za-z0-9_-]`, never segtag's own cookies. A non-empty list needs the destinations
   * feature (npm: `segtag/destinations`; segtag-sync.min.js and segtag-aam.min.js carry it).
   */
  cookieDestinations?: string[];
  /**
   * `'v1'` (default): segtag's JSON protocol. `'dcs'`: Audience Manager's `/event` format,
   * which needs the dcs feature (npm: `segtag/dcs`; segtag-aam.min.js carries it).
   */
  protocol?: 'v1' | 'dcs';
  consent?: ConsentConfig;
}

/** What happened to one destination of an answer. */
export interface DestinationOutcome {
  type: 'pixel' | 'cookie';
  /** The pixel's id or the cookie's name. */
  id: string;
  status: 'loaded' | 'error' | 'skipped' | 'written';
  /**
   * Why it was skipped. Pixels: `seen` (de-duplicated), `url` (not an allowed URL),
   * `limit` (over 10 in one answer). Cookies: `name` (not in `cookieDestinations`),
   * `value` (not printable ASCII), `size` (over `cookie.maxBytes`), `domain`.
   */
  reason?: 'seen' | 'url' | 'limit' | 'name' | 'value' | 'size' | 'domain';
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
  /** Called with the outcome of every pixel sync and cookie destination. Returns unsubscribe. */
  onDestinations?(listener: (outcome: DestinationOutcome) => void): () => void;
  /** Overrides every automatic consent signal: `'out'` deletes segtag's cookies and stops it. */
  setConsent(choice: 'in' | 'out'): void;
  destroy(): void;
}
