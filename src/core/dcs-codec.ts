import type { Codec, EncodedRequest } from './codec';
import type { CallRequest, CallResponse } from '../protocol/types';
import { isObject } from '../protocol/is-object';
import { MAX_COOKIE_TTL, parseDestinations, positiveUpTo } from '../protocol/parse-destinations';
import { UID } from '../protocol/patterns';
import { MAX_SEGMENTS } from '../protocol/parse-response';
import { parseSegments, type SegmentFormat } from './segment-cookie';

/**
 * Audience Manager's `/event` format (DCS), browser side. Field facts: docs/protocol.md
 * "Audience Manager (DCS)"; the mapping is documented in docs/audience-manager.md.
 */

/** Data provider ids: the keys of `identify()` that become `d_cid=DPID%01DPUUID`. */
const DPID = /^\d{1,10}$/;

/**
 * A form-encoded body (a CORS simple request) for the request's one event (Audience Manager's
 * `/event` call carries one event: `_maxEvents` below makes the queue send one per call): its
 * signals as `c_` keys (`c_`/`p_` keys as they are, any other key gets a `c_` prefix, arrays
 * comma-serialized), a track event's name as `c_event`, then `d_uuid`, one `d_cid` per declared
 * id whose key is a data provider id, `d_rtbd=json` and `d_dst=1`.
 */
export function encodeDcs(request: CallRequest): EncodedRequest {
  const q = new URLSearchParams();
  const { name, signals } = request.events[0];
  if (name) q.set('c_event', name);
  for (const k of Object.keys(signals)) q.set(/^[cp]_/.test(k) ? k : 'c_' + k, String(signals[k]));
  q.set('d_uuid', request.uid);
  const ids = request.ids || {};
  for (const dpid of Object.keys(ids)) if (DPID.test(dpid)) q.append('d_cid', dpid + '\x01' + ids[dpid]);
  q.set('d_rtbd', 'json');
  q.set('d_dst', '1');
  return { _body: q.toString(), _contentType: 'application/x-www-form-urlencoded' };
}

const list = (x: unknown) => (Array.isArray(x) ? x.filter(isObject) : []);

/**
 * Maps an untrusted DCS answer onto a CallResponse. The `stuff` item whose `cn` is the
 * segment cookie's name carries the segments (`cv` = `<key>=id,id`, `ttl` days); without
 * one the segment cookie is left as it is (Audience Manager sends nothing when nothing
 * changed). Other `stuff` items are cookie destinations (`cn`, `cv`, `ttl`, `dmn`), `dests`
 * of type image are pixels (`id`, `c`, `hr`), `uuid` is the visitor id. Everything then
 * goes through the same validation as protocol v1. A body that is not an object is malformed.
 */
export function decodeDcs(body: unknown, cookie: SegmentFormat & { name: string }): CallResponse | undefined {
  if (!isObject(body)) return;
  const out: CallResponse = {};
  const cookies: unknown[] = [];
  for (const { cn, cv, ttl, dmn } of list(body.stuff)) {
    if (cn !== cookie.name) cookies.push({ name: cn, value: cv, ttl, domain: dmn });
    else if (typeof cv == 'string') {
      out.segments = [...new Set(parseSegments(cv, cookie))].slice(0, MAX_SEGMENTS);
      const days = positiveUpTo(ttl, MAX_COOKIE_TTL);
      if (days) out.ttl = days;
    }
  }
  const pixels = list(body.dests)
    .filter(({ y }) => y == null || y === 'img')
    .map(({ id, c, hr }) => ({ id: typeof id == 'number' ? String(id) : id, url: c, hideReferrer: hr }));
  parseDestinations({ pixels, cookies }, out);
  const { uuid } = body;
  if (typeof uuid == 'string' && UID.test(uuid)) out.uid = uuid;
  return out;
}

export const dcsCodec: Codec = { _encode: encodeDcs, _decode: decodeDcs, _maxEvents: 1 };
