/**
 * Wire protocol v1 between the segtag SDK and a decisioning server.
 * Shared by the browser SDK and segtag-server (`server/`, which imports it as `segtag/protocol`); documented in docs/protocol.md.
 */

/** A signal value: what a page may send about itself. */
export type SignalValue = string | number | boolean | string[];
export type Signals = Record<string, SignalValue>;

/** Declared ids (e.g. a hashed CRM id), sent with calls, never stored in cookies. */
export type DeclaredIds = Record<string, string>;

export type EventType = 'page' | 'track';

export interface WireEvent {
  /** Random per event; never changes when the event is resent. */
  id: string;
  type: EventType;
  /** Event name, for `track` events. */
  name?: string;
  /** Milliseconds since the epoch, when the event was raised. */
  ts: number;
  url: string;
  ref?: string;
  title?: string;
  signals: Signals;
}

/**
 * The visitor's consent signals as read on the page, so the server can apply its own
 * rules. Only present fields were signalled. Never stored by the SDK.
 */
export interface WireConsent {
  /** TCF `gdprApplies`. */
  gdpr?: boolean;
  /** The IAB TCF v2 TC string (when GDPR applies). */
  tcf?: string;
  /** The IAB GPP string. */
  gpp?: string;
  /** GPP applicable section ids, comma-separated (`"7"`, `"7,8"`), as in the `gpp_sid` URL macro. */
  gppSid?: string;
  /** `true` when the browser sends Global Privacy Control. */
  gpc?: boolean;
}

export interface CallRequest {
  v: 1;
  site: string;
  uid: string;
  ids?: DeclaredIds;
  consent?: WireConsent;
  events: WireEvent[];
}

/** A URL destination ("pixel sync"): fired as an image, de-duplicated by `id`. */
export interface PixelDestination {
  id: string;
  /** Absolute https: URL (http: only on http pages), with optional macros. */
  url: string;
  /** Minutes during which the same `id` is not fired again, across pages. */
  ttl?: number;
  /** Fire with `referrerPolicy = 'no-referrer'`. */
  hideReferrer?: boolean;
}

/** A cookie destination: written only when `name` is in the config's `cookieDestinations`. */
export interface CookieDestination {
  name: string;
  value: string;
  /** Days; default: the config's `cookie.days`. */
  ttl?: number;
  /** The page's registrable domain or a parent of the page's host below it. */
  domain?: string;
}

export interface CallResponse {
  /** A server-assigned visitor id that replaces the cookie's. */
  uid?: string;
  /**
   * Segment ids in the server's priority order. Always present in protocol v1;
   * absent in a DCS answer without a segment-cookie item (the cookie is then left alone).
   */
  segments?: string[];
  /** Days the segment cookie should live. */
  ttl?: number;
  /** Transaction id, for support and log correlation. */
  tid?: string;
  /**
   * Ids of the request's events the server processed (including ones it had already seen).
   * The SDK forgets only these and resends the others; absent means all of them.
   */
  ack?: string[];
  pixels?: PixelDestination[];
  cookies?: CookieDestination[];
}
