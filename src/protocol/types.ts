/**
 * Wire protocol v1 between the segtag SDK and a decisioning server.
 * Shared by the browser SDK and `src/server/`; documented in docs/protocol.md.
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

export interface CallResponse {
  /** A server-assigned visitor id that replaces the cookie's. */
  uid?: string;
  /** Segment ids in the server's priority order. */
  segments: string[];
  /** Days the segment cookie should live. */
  ttl?: number;
  /** Transaction id, for support and log correlation. */
  tid?: string;
}
