/**
 * The rules file, as validated data (see docs/rules.md): traits say which events count, segments
 * combine trait counts with AND/OR/NOT, frequency (`atLeast`) and recency (`withinDays`).
 */
import { MAX_COOKIE_TTL, type EventType } from 'segtag/protocol';

export const OPS = ['equals', 'in', 'contains', 'prefix', 'gt', 'gte', 'lt', 'lte', 'exists'] as const;
export type Op = (typeof OPS)[number];

export type Scalar = string | number | boolean;

/** Conditions on one event; every one given must hold. */
export interface Where {
  type?: EventType;
  /** Track event name (implies `type: 'track'`). */
  event?: string;
  /** The event URL's path starts with this. */
  pathPrefix?: string;
  signal?: string;
  op?: Op;
  value?: Scalar | Scalar[];
}

export interface Trait {
  id: string;
  name?: string;
  where: Where;
}

/** A trait reference: the trait matched at least `atLeast` times in the last `withinDays` days. */
export interface TraitRule {
  trait: string;
  atLeast: number;
  /** Absent: the file's `ttlDays` (rounded up to whole days). */
  withinDays?: number;
}

export type Rule = TraitRule | { and: Rule[] } | { or: Rule[] } | { not: Rule };

export interface Segment {
  id: string;
  name?: string;
  rule: Rule;
}

/** How `/event` (the Audience Manager DCS format) answers: the segment cookie as a cookie destination. */
export interface DcsConfig {
  /** Cookie name (`cn`). Default `aam`. */
  cookieName: string;
  /** The key in the serialized value `key=1,2` (`cv`). Default `seg`. */
  key: string;
  /** Cookie domain (`dmn`); absent: the tag uses the page's domain. */
  domain?: string;
  /** Sent as `dcs_region` when set. */
  region?: number;
  /** The server's own visitor cookie on `/event` answers (host-only, 400 days). Default `demdex`. */
  visitorCookie: string;
}

/**
 * A URL destination ("pixel sync"): fired by the tag when the visitor is in one of `segments`.
 * `/event` answers it in `dests` as `{ id, c, hr, y: 'img' }`, macros expanded.
 */
export interface UrlDestination {
  id: string;
  /** Absolute `https:` URL, with macros `%rnd%`, `%timestamp%`, `%uid%`, `${GDPR}`, `${GDPR_CONSENT_<vendor>}`. */
  url: string;
  /** The segments it fires for (any of them), or every segment. */
  segments: PartnerSegments;
  /** Fired without a `Referer` header. Default false. */
  hideReferrer: boolean;
}

export interface Rules {
  /** Days a segment lives without new matching events (the cookie's ttl, the default recency window). */
  ttlDays: number;
  traits: Trait[];
  segments: Segment[];
  dcs: DcsConfig;
  /** Server-to-server partners (docs/server-to-server.md); none by default. */
  partners: Partner[];
  /** URL destinations, in file order; none by default. */
  urlDestinations: UrlDestination[];
}

export const DEFAULT_TTL_DAYS = 30;
/** The SDK ignores a ttl above the protocol's cap (Chrome's cap on cookie lifetime); windows share it. */
export const MAX_DAYS = MAX_COOKIE_TTL;

/** Which segments a server-to-server partner receives: listed ids, or every segment. */
export type PartnerSegments = string[] | 'all';

/**
 * Real-time server-to-server: segment changes pushed to a partner's URL every `intervalSeconds`
 * (the partner's refresh rate), at most `maxUsersPerMessage` users per message (docs/server-to-server.md).
 */
export interface RealtimePartner {
  id: string;
  type: 'realtime';
  url: string;
  intervalSeconds: number;
  segments: PartnerSegments;
  maxUsersPerMessage: number;
  /**
   * Messages in flight at once (1-16, default 1), in lanes by visitor: one visitor's messages
   * stay in order (docs/server-to-server.md, "Several messages in flight").
   */
  maxInFlight: number;
  timeoutMs: number;
  /** Retries after the first attempt before a message becomes a dead letter. */
  retries: number;
  /** First backoff (ms), doubled per retry, jittered, capped at a minute. */
  retryBaseMs: number;
  headers: Record<string, string>;
}

/** Batch server-to-server: a file per partner every `intervalHours` in `dir`, with a manifest. */
export interface BatchPartner {
  id: string;
  type: 'batch';
  intervalHours: number;
  dir: string;
  format: 'csv' | 'ndjson';
  gzip: boolean;
  /** `full`: every visitor's current segments; `incremental`: the changes since the last file. */
  mode: 'full' | 'incremental';
  segments: PartnerSegments;
}

export type Partner = RealtimePartner | BatchPartner;
