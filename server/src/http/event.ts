/**
 * `GET|POST /event`: Audience Manager's DCS format, so a page still running an Audience
 * Manager-style tag can point at segtag's server. Keys (query string and/or form-encoded body):
 *   c_*  customer signals, p_* private signals (qualify, never stored or logged),
 *   d_uuid the visitor id, d_cid `DPID%01DPUUID` declared ids (checked, never stored or logged),
 *   h_referer the page URL; other d_/h_ keys (d_rtbd, d_dst, d_orgid, ...) and unprefixed keys
 *   are accepted and ignored. Comma-separated values are several values.
 * Answers `{ stuff, dests, uuid, tid, dcs_region? }`: `stuff` holds the segment cookie as a cookie
 * destination (name and key from the rules file's `dcs` block). Always JSON (no JSONP `d_cb`).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UID, type Signals, type SignalValue, type WireEvent } from 'segtag/protocol';
import type { Decide } from '../decide';
import { httpError } from './errors';
import { LIMITS } from './rtc-schema';

export const EVENT_PATH = '/event';
/** Audience Manager's own limits: 8 KB for a GET URL, 32 KB for a POST body. */
export const MAX_EVENT_URL_CHARS = 8 * 1024;
export const MAX_EVENT_BODY_BYTES = 32 * 1024;
const MAX_KEYS = 200;
const MAX_DECLARED_IDS = 20;
// `\x01` is Audience Manager's separator between the data provider id and its id; no other control character.
// eslint-disable-next-line no-control-regex
const DECLARED_ID = /^\d{1,20}\x01[^\x00-\x1f\x7f]{1,1024}$/;
/** Decimal numbers become numbers (for gt/lt traits); `007` or `1e3` stay strings. */
const NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d{1,9})?$/;

interface DcsCall {
  uid?: string;
  event: WireEvent;
}

export function eventRoutes(decide: Decide) {
  return async function (app: FastifyInstance) {
    // Form-encoded whatever the Content-Type says (DIL-style tags send it as a simple request).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      done(null, [...new URLSearchParams(body as string)]);
    });

    const handle = async (request: FastifyRequest) => {
      if (request.url.length > MAX_EVENT_URL_CHARS)
        throw httpError(414, `URL too long (max ${MAX_EVENT_URL_CHARS} characters)`);
      const query = request.url.includes('?')
        ? [...new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1))]
        : [];
      const body = Array.isArray(request.body) ? (request.body as [string, string][]) : [];
      const call = parseDcs([...query, ...body], request.headers.referer, Date.now());
      const decision = await decide(call.uid, [call.event]);
      const { cookieName, key, domain, region } = decision.rules.dcs;
      return {
        stuff: decision.segments.length
          ? [
              {
                cn: cookieName,
                cv: `${key}=${decision.segments.join(',')}`,
                ttl: decision.rules.ttlDays,
                ...(domain && { dmn: domain }),
              },
            ]
          : [],
        dests: [],
        uuid: decision.uid,
        tid: randomBytes(8).toString('base64'),
        ...(region !== undefined && { dcs_region: region }),
      };
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
          dests: { type: 'array', items: { type: 'object', additionalProperties: true } },
          uuid: { type: 'string' },
          tid: { type: 'string' },
          dcs_region: { type: 'integer' },
        },
      },
    };
    app.get(EVENT_PATH, { schema: { response } }, handle);
    app.post(EVENT_PATH, { bodyLimit: MAX_EVENT_BODY_BYTES, schema: { response } }, handle);
  };
}

/** Reads DCS key-value pairs into a visitor id and one page event; throws a 400 naming the problem. */
export function parseDcs(pairs: [string, string][], referer: string | undefined, now: number): DcsCall {
  if (pairs.length > MAX_KEYS) throw httpError(400, `too many keys (max ${MAX_KEYS})`);
  const signals: Signals = Object.create(null);
  let uid: string | undefined;
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
    if (k.startsWith('c_') || k.startsWith('p_')) {
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
    } else if (k == 'd_uuid') {
      uid = UID.test(v) ? v : undefined;
    } else if (k == 'd_cid') {
      if (++declaredIds > MAX_DECLARED_IDS) throw httpError(400, `d_cid: too many (max ${MAX_DECLARED_IDS})`);
      if (!DECLARED_ID.test(v)) throw httpError(400, 'd_cid: must be DPID%01DPUUID');
    } else if (k == 'h_referer') {
      url = v;
    }
  }
  const event: WireEvent = {
    id: '',
    type: 'page',
    ts: now,
    url: url || referer?.slice(0, LIMITS.urlChars) || '',
    signals,
  };
  return { uid, event };
}

const scalar = (v: string): SignalValue => (NUMBER.test(v) ? Number(v) : v);
const quote = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
