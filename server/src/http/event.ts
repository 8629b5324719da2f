/**
 * `GET|POST /event`: Audience Manager's DCS format, so a page still running an Audience
 * Manager-style tag (DIL, hand-written calls) can point at segtag's server
 * (docs/audience-manager.md "The server side"). Keys (query string and/or form-encoded body):
 *   d_* platform keys: d_uuid the visitor id, d_mid the Experience Cloud id, d_cid
 *       `DPID%01DPUUID` declared ids (checked, never stored or logged), d_rtbd=json (without it
 *       the call is counted but answered with no data), d_dst=1 (URL destinations in `dests`),
 *       d_cb a JSONP callback; other d_ keys (d_nsid, d_ld, d_orgid, ...) are ignored;
 *   h_referer the page URL; other h_ keys are ignored;
 *   p_* private signals (qualify, never stored or logged);
 *   any other key is a signal under its own name (c_section and section are two signals), except
 *   `_ts` (DIL's cache buster) and `gdpr`/`gdpr_consent` (for URL destination macros only).
 * Comma-separated values are several values. The visitor is d_uuid, else the server's visitor
 * cookie, else d_mid, else new (http/dcs-visitor.ts); the answer sets that cookie.
 * Answers `{ stuff, dests, uuid, tid, dcs_region? }`: `stuff` holds the segment cookie as a cookie
 * destination (name and key from the rules file's `dcs` block), `dests` the URL destinations of
 * the visitor's segments; JSON, or JSONP with d_cb (http/jsonp.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Signals, SignalValue, WireEvent } from 'segtag/protocol';
import type { Decide } from '../decide';
import { destsFor } from '../rules/url-destinations';
import type { Rules } from '../rules/types';
import { readCookie, resolveVisitor, visitorCookie } from './dcs-visitor';
import { httpError, quote } from './errors';
import { isCallback, jsonpBody, MAX_CALLBACK_CHARS } from './jsonp';
import { LIMITS } from './rtc-schema';
import { CREDENTIALED_CORS } from './cors';

export const EVENT_PATH = '/event';
/** Audience Manager's own limits: 8 KB for a GET URL, 32 KB for a POST body. */
export const MAX_EVENT_URL_CHARS = 8 * 1024;
export const MAX_EVENT_BODY_BYTES = 32 * 1024;
const MAX_KEYS = 200;
// `\x01` is Audience Manager's separator between the data provider id and its id; no other control character.
// eslint-disable-next-line no-control-regex
const DECLARED_ID = /^\d{1,20}\x01[^\x00-\x1f\x7f]{1,1024}$/;
/** Decimal numbers become numbers (for gt/lt traits); `007` or `1e3` stay strings. */
const NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d{1,9})?$/;
/** Unprefixed keys that are not signals. */
const NOT_SIGNALS = new Set(['_ts', 'gdpr', 'gdpr_consent']);
/** What `gdpr_consent` may hold to reach a URL destination (the SDK's rule for consent strings). */
const CONSENT = /^[A-Za-z0-9_.~,-]{0,4096}$/;

export interface DcsCall {
  /** `d_uuid` as sent (checked by resolveVisitor). */
  uuid?: string;
  /** `d_mid`, the Experience Cloud id. */
  mid?: string;
  /** `d_rtbd=json`: the caller wants the answer (Adobe: without it the DCS returns no data). */
  json: boolean;
  /** `d_dst=1`: the caller wants URL destinations. */
  dests: boolean;
  /** `d_cb`: a checked JSONP callback name. */
  callback?: string;
  /** `gdpr` (`0`/`1`) and `gdpr_consent`, for URL destination macros. */
  gdpr?: string;
  gdprConsent?: string;
  event: WireEvent;
}

/** `rules`: the rules in force (for the visitor cookie's name, read before the decision). */
/** `now`: the clock the decider uses, so an event's time and the macros agree with the profile's. */
export function eventRoutes(decide: Decide, rules: () => Rules, now: () => number = Date.now) {
  return async function (app: FastifyInstance) {
    // Form-encoded whatever the Content-Type says (DIL-style tags send it as a simple request).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      done(null, [...new URLSearchParams(body as string)]);
    });

    const handle = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.url.length > MAX_EVENT_URL_CHARS)
        throw httpError(414, `URL too long (max ${MAX_EVENT_URL_CHARS} characters)`);
      const query = request.url.includes('?')
        ? [...new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1))]
        : [];
      const body = Array.isArray(request.body) ? (request.body as [string, string][]) : [];
      const at = now();
      const call = parseDcs([...query, ...body], request.headers.referer, at);
      const cookieName = rules().dcs.visitorCookie;
      const { uid } = resolveVisitor({
        dUuid: call.uuid,
        cookie: readCookie(request.headers.cookie, cookieName),
        mid: call.mid,
      });
      const decision = await decide(uid, [call.event]);
      // request.protocol trusts X-Forwarded-Proto only when fastify's trustProxy is set.
      reply
        .header('set-cookie', visitorCookie(cookieName, decision.uid, request.protocol == 'https'))
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff');
      if (!call.json) {
        // Counted, cookie set, no data (Adobe: "the DCS does not return data").
        reply.type(call.callback ? 'application/javascript; charset=utf-8' : 'text/plain; charset=utf-8');
        return '';
      }
      const { cookieName: cn, key, domain, region } = decision.rules.dcs;
      const answer = {
        stuff: decision.segments.length
          ? [
              {
                cn,
                cv: `${key}=${decision.segments.join(',')}`,
                ttl: decision.rules.ttlDays,
                ...(domain && { dmn: domain }),
              },
            ]
          : [],
        dests: call.dests
          ? destsFor(decision.rules.urlDestinations, decision.segments, {
              uid: decision.uid,
              now: at,
              gdpr: call.gdpr,
              gdprConsent: call.gdprConsent,
            })
          : [],
        uuid: decision.uid,
        tid: randomBytes(8).toString('base64'),
        ...(region !== undefined && { dcs_region: region }),
      };
      if (!call.callback) return answer;
      reply.type('application/javascript; charset=utf-8');
      return jsonpBody(call.callback, answer);
    };

    const response = {
      200: {
        type: 'object',
        properties: {
          stuff: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                cn: { type: 'string' },
                cv: { type: 'string' },
                ttl: { type: 'number' },
                dmn: { type: 'string' },
              },
            },
          },
          dests: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                c: { type: 'string' },
                hr: { type: 'boolean' },
                y: { type: 'string' },
              },
            },
          },
          uuid: { type: 'string' },
          tid: { type: 'string' },
          dcs_region: { type: 'integer' },
        },
      },
    };
    app.get(EVENT_PATH, { schema: { response }, config: CREDENTIALED_CORS }, handle);
    app.post(EVENT_PATH, { bodyLimit: MAX_EVENT_BODY_BYTES, schema: { response }, config: CREDENTIALED_CORS }, handle);
    // Its preflight is credentialed too (@fastify/cors answers it in its hook, with this route's
    // config; its own `OPTIONS *` route would answer with the non-credentialed options).
    app.options(EVENT_PATH, { config: CREDENTIALED_CORS }, (request, reply) =>
      request.corsPreflightEnabled ? reply.send() : reply.callNotFound(),
    );
  };
}

/** Reads DCS key-value pairs into a visitor id and one page event; throws a 400 naming the problem. */
export function parseDcs(pairs: [string, string][], referer: string | undefined, now: number): DcsCall {
  if (pairs.length > MAX_KEYS) throw httpError(400, `too many keys (max ${MAX_KEYS})`);
  const signals: Signals = Object.create(null);
  const call: Omit<DcsCall, 'event'> = { json: false, dests: false };
  let url = '';
  let declaredIds = 0;
  let signalCount = 0;
  for (const [k, v] of pairs) {
    // Answers name the key (the caller sent it); the log gets the reason only (httpError's third argument).
    if (!k || k.length > LIMITS.keyChars) {
      throw httpError(
        400,
        `key ${quote(k)} must have 1-${LIMITS.keyChars} characters`,
        `a key must have 1-${LIMITS.keyChars} characters`,
      );
    }
    if (v.length > LIMITS.urlChars)
      throw httpError(
        400,
        `${k}: too long (max ${LIMITS.urlChars} characters)`,
        `a value is too long (max ${LIMITS.urlChars} characters)`,
      );
    if (k.startsWith('d_') || k.startsWith('h_')) {
      platformKey(call, k, v);
      if (k == 'h_referer') url = v;
      else if (k == 'd_cid' && ++declaredIds > LIMITS.declaredIds)
        throw httpError(400, `d_cid: too many (max ${LIMITS.declaredIds})`);
    } else if (NOT_SIGNALS.has(k)) {
      if (k == 'gdpr') call.gdpr = v == '1' ? '1' : '0';
      else if (k == 'gdpr_consent' && CONSENT.test(v)) call.gdprConsent = v;
    } else {
      const values = v.split(',');
      if (values.some((x) => x.length > LIMITS.valueChars)) {
        throw httpError(
          400,
          `${k}: a value is too long (max ${LIMITS.valueChars} characters)`,
          `a signal value is too long (max ${LIMITS.valueChars} characters)`,
        );
      }
      const before = Object.hasOwn(signals, k) ? signals[k] : undefined;
      if (before === undefined && ++signalCount > LIMITS.signalsPerEvent)
        throw httpError(400, `too many signals (max ${LIMITS.signalsPerEvent})`);
      const merged =
        before === undefined ? values : [...(Array.isArray(before) ? before : [String(before)]), ...values];
      if (merged.length > LIMITS.valuesPerSignal) {
        throw httpError(
          400,
          `${k}: too many values (max ${LIMITS.valuesPerSignal})`,
          `a signal has too many values (max ${LIMITS.valuesPerSignal})`,
        );
      }
      signals[k] = merged.length == 1 ? scalar(merged[0]) : merged;
    }
  }
  const event: WireEvent = {
    id: '',
    type: 'page',
    ts: now,
    url: url || referer?.slice(0, LIMITS.urlChars) || '',
    signals,
  };
  return { ...call, event };
}

/** The `d_`/`h_` keys the server reads; the others are accepted and ignored. */
function platformKey(call: Omit<DcsCall, 'event'>, k: string, v: string) {
  switch (k) {
    case 'd_uuid':
      call.uuid = v;
      break;
    case 'd_mid':
      call.mid = v;
      break;
    case 'd_rtbd':
      call.json = v == 'json';
      break;
    case 'd_dst':
      call.dests = v == '1';
      break;
    case 'd_cb':
      if (!isCallback(v))
        throw httpError(
          400,
          `d_cb: must be a JavaScript name or dotted path (letters, digits, _ and $; at most ${MAX_CALLBACK_CHARS} characters)`,
        );
      call.callback = v;
      break;
    case 'd_cid':
      if (!DECLARED_ID.test(v)) throw httpError(400, 'd_cid: must be DPID%01DPUUID');
      break;
  }
}

const scalar = (v: string): SignalValue => (NUMBER.test(v) ? Number(v) : v);
