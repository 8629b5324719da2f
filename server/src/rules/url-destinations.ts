/**
 * URL destinations ("pixel syncs", docs/rules.md "urlDestinations"): validated from the rules
 * file, and expanded for one `/event` answer. The URL form is protocol v1's `pixels` form
 * (docs/protocol.md "Destinations"): an absolute `https:` URL, at most 4096 characters after
 * macros `%rnd%`, `%timestamp%`, `%uid%`, `${GDPR}` and `${GDPR_CONSENT_<vendor>}`.
 */
import { MAX_PIXEL_URL } from 'segtag/protocol';
import { parseList, show, unknownKeys, type Obj } from './parse-list';
import { parsePartnerSegments, wants } from './partners';
import type { UrlDestination } from './types';

/** Audience Manager's account limit. */
export const MAX_URL_DESTINATIONS = 1000;
/** At most this many in one answer (the SDK fires no more per answer). */
export const MAX_DESTS_PER_ANSWER = 10;

const MACROS = /%(rnd|timestamp|uid)%|\$\{GDPR(_CONSENT_\d+)?\}/g;

export function parseUrlDestinations(list: unknown, segmentIds: Set<string>, problems: string[]): UrlDestination[] {
  if (list === undefined) return [];
  const parseDestination = (d: Obj, at: string, problems: string[]): UrlDestination | undefined => {
    unknownKeys(d, ['id', 'name', 'description', 'url', 'segments', 'hideReferrer'], at, problems);
    const url = parseUrl(d, at, problems);
    const segments = parsePartnerSegments(d.segments, at, segmentIds, problems);
    if (d.hideReferrer !== undefined && typeof d.hideReferrer != 'boolean')
      problems.push(`${at}: hideReferrer must be true or false`);
    return url === undefined ? undefined : { id: d.id as string, url, segments, hideReferrer: d.hideReferrer === true };
  };
  return parseList(list, 'urlDestinations', 'url destination', parseDestination, problems, MAX_URL_DESTINATIONS);
}

function parseUrl(d: Obj, at: string, problems: string[]): string | undefined {
  const { url } = d;
  if (typeof url != 'string' || url.length > MAX_PIXEL_URL) {
    return void problems.push(`${at}: url must be a string of at most ${MAX_PIXEL_URL} characters`);
  }
  let parsed: URL;
  try {
    // Macros replaced by a plain value: the URL must be valid whatever they expand to.
    parsed = new URL(url.replace(MACROS, '0'));
  } catch {
    return void problems.push(`${at}: url must be an absolute URL, got ${show(url)}`);
  }
  if (parsed.protocol != 'https:') return void problems.push(`${at}: url must be https, got ${show(url)}`);
  if (parsed.username || parsed.password) return void problems.push(`${at}: url must not carry credentials`);
  return url;
}

/** What a call knows for the macros. `gdpr`/`gdprConsent` absent: those macros are left for the tag. */
export interface MacroValues {
  uid: string;
  now: number;
  gdpr?: string;
  gdprConsent?: string;
}

/**
 * Expands the macros, each value URL-encoded. `${GDPR}` and `${GDPR_CONSENT_<vendor>}` are
 * expanded only when the call carried `gdpr` (and `gdpr_consent`): otherwise they stay for a
 * tag that knows the page's consent (segtag-aam.min.js expands them from the CMP).
 */
export function expandUrl(url: string, m: MacroValues): string {
  return url.replace(MACROS, (whole, macro: string | undefined, consent: string | undefined) => {
    if (macro == 'uid') return encodeURIComponent(m.uid);
    if (macro == 'rnd') return String(Math.floor(Math.random() * 1e12));
    if (macro == 'timestamp') return String(m.now);
    if (m.gdpr === undefined) return whole;
    return encodeURIComponent((consent ? m.gdprConsent : m.gdpr) ?? '');
  });
}

/** Audience Manager's `dests` item. */
export interface Dest {
  id: string;
  c: string;
  hr: boolean;
  y: 'img';
}

/** The destinations of the visitor's segments, in file order, at most MAX_DESTS_PER_ANSWER. */
export function destsFor(list: readonly UrlDestination[], segments: readonly string[], m: MacroValues): Dest[] {
  const out: Dest[] = [];
  for (const d of list) {
    if (out.length >= MAX_DESTS_PER_ANSWER) break;
    if (!segments.some((s) => wants(d.segments, s))) continue;
    const c = expandUrl(d.url, m);
    if (c.length <= MAX_PIXEL_URL) out.push({ id: d.id, c, hr: d.hideReferrer, y: 'img' });
  }
  return out;
}
