/**
 * `segtag/protocol`: the wire protocol v1 shared by the browser SDK and `segtag-server`: the
 * request and answer types, the character allowlists, the limits and the answer's validation.
 * Neither DOM nor Node: it runs anywhere. Documented in docs/protocol.md.
 */
export type {
  CallRequest,
  CallResponse,
  CookieDestination,
  DeclaredIds,
  EventType,
  PixelDestination,
  SignalValue,
  Signals,
  WireConsent,
  WireEvent,
} from './types';
export { EVENT_ID, SEGMENT_ID, SITE, UID } from './patterns';
export { isObject } from './is-object';
export { MAX_SEGMENTS, parseResponse } from './parse-response';
export {
  MAX_COOKIE_TTL,
  MAX_DESTINATIONS,
  MAX_PIXEL_TTL,
  MAX_PIXEL_URL,
  parseDestinations,
} from './parse-destinations';
