import type { CallRequest, DeclaredIds, EventType, Signals, WireEvent } from '../protocol/types';
import type { Codec } from './codec';
import { UID } from '../protocol/patterns';
import type { CallResult, Segtag, Targeting } from './types';
import type { ResolvedConfig } from './config';
import { DENIED, GRANTED, type Consent } from './consent';
import type { Platform } from './platform';
import { parseSegments, serializeSegments } from './segment-cookie';
import { copyIds, copySignals } from './validate-input';
import { isText, check, isNum } from './fail';
import { createQueue, type Delivered } from './queue';
import { retryAfter } from './retry';
import type { Destinations } from './destinations';

export const UID_COOKIE = 'segtag_uid';
const UID_DAYS = 400;

/**
 * The real-time call loop: events out, segments in, segment cookie written.
 * Browser-free: everything it touches comes in through `platform`; the wire format
 * through `codec` (protocol v1's JSON, or the dcs feature's form); pixel syncs and cookie
 * destinations through `destinations`, with the destinations feature.
 */
export function createClient(
  cfg: ResolvedConfig,
  platform: Platform,
  codec: Codec,
  destinations: Destinations | undefined,
  consent: Consent,
): Segtag {
  const { _cookies: cookies } = platform;
  const listeners = new Set<(t: Targeting) => void>();
  let ids: DeclaredIds | undefined;
  let memory: string[] = [];
  let destroyed = false;
  let answered: () => void;
  const firstAnswer = new Promise<void>((r) => (answered = r));

  const warn = (m: unknown) => {
    if (cfg._debug) console.warn('segtag:', m);
  };

  const getSegments = () => {
    // Without consent nothing is read, and segments from before a withdrawal are gone.
    if (consent._state() != GRANTED) return [];
    const stored = cookies.get(cfg.name);
    return stored == null ? memory.slice() : parseSegments(stored, cfg);
  };
  const toTargeting = (segments: string[]): Targeting => (segments.length ? { [cfg.key]: segments } : {});
  const getTargeting = () => toTargeting(getSegments());

  function writeSegments(segments: string[], days: number) {
    const before = getSegments().join();
    const { _value: value, _kept: kept } = serializeSegments(cfg, segments, cfg.name, cfg._maxBytes, cookies.encode);
    if (kept.length < segments.length) warn(`cookie.maxBytes: dropped ${segments.length - kept.length} segments`);
    // Nothing to keep (none qualified, or none fits): no cookie at all. Written or removed only
    // when that changes it: each write is a round trip to the browser's cookie store.
    if (cookies.get(cfg.name) != (kept.length ? value : undefined)) {
      if (kept.length) cookies.set(cfg.name, value, days);
      else cookies.remove(cfg.name);
    }
    memory = kept;
    if (kept.join() != before) {
      const t = toTargeting(kept);
      listeners.forEach((l) => {
        try {
          l(t);
        } catch (e) {
          warn(e);
        }
      });
    }
  }

  const visitorId = (uid = cookies.get(UID_COOKIE)) => (uid && UID.test(uid) ? uid : platform._uuid());
  /** The id this page wrote: browsers clamp expiry to 400 days, so each page's first call refreshes it. */
  let uidWritten: string | undefined;
  const writeUid = (uid: string) => {
    if (uid != uidWritten) {
      uidWritten = uid;
      cookies.set(UID_COOKIE, uid, UID_DAYS);
    }
  };

  /** One call: the request for `events`, the answer validated and applied. Never rejects. */
  async function deliver(events: WireEvent[], flush?: boolean): Promise<Delivered> {
    // Held while consent is unknown (the queue keeps events in memory: storage is gated);
    // the request is built once granted, so it reads the visitor's id and carries the
    // consent. Denied: a refusal the queue does not retry (the events are dropped). Granted: no
    // await, so the request leaves in this task, before the queue's next pump touches storage.
    if (consent._state() != GRANTED && !(await consent._wait())) return { _error: 'no consent', _status: 451 };
    const request: CallRequest = { v: 1, site: cfg.site, uid: visitorId(), consent: consent._wire, events };
    if (ids) request.ids = ids;
    try {
      const { _body: sent, _contentType: contentType } = codec._encode(request);
      const pending = platform._post(cfg._endpoint, sent, cfg._timeout, flush, contentType);
      // Once the request has left: a page's first write probes the cookie domain (round trips
      // to the browser's cookie store).
      writeUid(request.uid);
      const { _status: status, _body: body, _retry: retry } = await pending;
      const success = status > 199 && status < 300;
      const answer = success ? codec._decode(body, cfg) : undefined;
      if (answer) {
        if (!destroyed) {
          if (answer.uid) writeUid(answer.uid);
          // A DCS answer without the segment cookie leaves it as it is.
          if (answer.segments) writeSegments(answer.segments, answer.ttl || cfg._days);
          destinations?._apply(answer, answer.uid || request.uid);
        }
        return { _ack: answer.ack };
      }
      return {
        _error: success ? 'malformed response' : 'HTTP ' + status,
        _status: status,
        _wait: retryAfter(retry, platform._now()),
      };
    } catch (e) {
      return { _error: (e as Error).name == 'TimeoutError' ? 'timeout' : 'network error' };
    } finally {
      answered();
    }
  }

  const queue = createQueue(cfg.site, cfg._timeout, platform, deliver, warn, codec._maxEvents);

  /** Queues an event; resolves when its call is acknowledged, fails, or delivery is held. */
  async function send(type: EventType, name: string | undefined, signals: Signals): Promise<CallResult> {
    let error: string | undefined = destroyed ? 'destroyed' : consent._state() == DENIED ? 'no consent' : undefined;
    if (!error) {
      // A page view's undefined name is left out by JSON.stringify.
      const event: WireEvent = {
        id: platform._uuid(),
        type,
        name,
        ts: platform._now(),
        ...platform._context(),
        signals,
      };
      error = await queue.add(event);
    }
    answered();
    const segments = getSegments();
    return { ok: !error, segments, targeting: toTargeting(segments), ...(error && { error }) };
  }

  return {
    page: (signals) => send('page', undefined, copySignals(signals)),
    track(name, signals) {
      check(isText(name, /^.{1,100}$/), 'track() name');
      return send('track', name, copySignals(signals));
    },
    identify(declared) {
      ids = { ...ids, ...copyIds(declared) };
    },
    getSegments,
    getTargeting,
    ready(ms = 1000) {
      check(isNum(ms, 0, Infinity), 'ready() ms');
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve(getTargeting());
        };
        const timer = setTimeout(done, ms);
        firstAnswer.then(done);
      });
    },
    setConsent(choice) {
      check(choice == 'in' || choice == 'out', 'setConsent() choice');
      consent._set(choice);
    },
    onSegments(listener) {
      check(typeof listener == 'function', 'onSegments() listener');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // Only with the destinations feature; elsewhere the command is unknown.
    ...(destinations && { onDestinations: destinations._on }),
    destroy() {
      destroyed = true;
      listeners.clear();
      answered();
      queue.stop();
    },
  };
}
