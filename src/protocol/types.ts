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

export interface CallRequest {
  v: 1;
  site: string;
  uid: string;
  ids?: DeclaredIds;
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
  /**
   * Ids of the request's events the server processed (including ones it had already seen).
   * The SDK forgets only these and resends the others; absent means all of them.
   */
  ack?: string[];
}
