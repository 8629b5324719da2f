import type { CallRequest, DeclaredIds, EventType, Signals, WireEvent } from '../protocol/types';
import { parseResponse } from '../protocol/parse-response';
import { UID } from '../protocol/patterns';
import type { CallResult, Segtag, Targeting } from '../types';
import type { ResolvedConfig } from './config';
import { createConsent, GRANTED, type Consent } from './consent';
import type { Platform } from './platform';
import { parseSegments, serializeSegments } from './segment-cookie';
import { copyIds, copySignals } from './validate-input';
import { check } from './fail';

export const UID_COOKIE = 'segtag_uid';
const UID_DAYS = 400;

/**
 * The real-time call loop: events out, segments in, segment cookie written.
 * Browser-free: everything it touches comes in through `platform`.
 */
export function createClient(cfg: ResolvedConfig, platform: Platform, consent: Consent = createConsent('in')): Segtag {
  const { cookies } = platform;
  const listeners = new Set<(t: Targeting) => void>();
  let ids: DeclaredIds | undefined;
  let memory: string[] = [];
  let destroyed = false;
  let answered: () => void;
  const firstAnswer = new Promise<void>((r) => (answered = r));

  const warn = (m: string) => cfg.debug && console.warn('segtag:', m);

  const getSegments = () => {
    // Without consent nothing is read, and segments from before a withdrawal are gone.
    if (consent.state() != GRANTED) return [];
    const stored = cookies.get(cfg.name);
    return stored == null ? memory.slice() : parseSegments(stored, cfg.key);
  };
  const toTargeting = (segments: string[]): Targeting =>
    segments.length ? { [cfg.key]: segments } : {};
  const getTargeting = () => toTargeting(getSegments());

  function writeSegments(segments: string[], days: number) {
    const before = getSegments().join();
    if (segments.length) {
      const { value, kept } = serializeSegments(cfg.key, segments, cfg.name, cfg.maxBytes, cookies.encode);
      if (kept.length < segments.length) warn(`cookie.maxBytes: dropped ${segments.length - kept.length} segments`);
      cookies.set(cfg.name, value, days);
      memory = kept;
    } else {
      cookies.remove(cfg.name);
      memory = [];
    }
    if (getSegments().join() != before) {
      const t = getTargeting();
      listeners.forEach((l) => {
        try {
          l(t);
        } catch (e) {
          warn('onSegments listener threw: ' + e);
        }
      });
    }
  }

  function visitorId() {
    let uid = cookies.get(UID_COOKIE);
    if (!uid || !UID.test(uid)) uid = platform.uuid();
    // Rewritten on every call: browsers clamp expiry to 400 days, so visits keep it alive.
    cookies.set(UID_COOKIE, uid, UID_DAYS);
    return uid;
  }

  async function send(type: EventType, name: string | undefined, signals: Signals): Promise<CallResult> {
    let error: string | undefined = 'destroyed';
    const event: WireEvent = { id: platform.uuid(), type, ts: platform.now(), ...platform.context(), signals };
    if (name) event.name = name;
    // Held in memory while consent is unknown (never stored), dropped when denied; the
    // request is built once granted, so it reads the visitor id and carries the consent.
    if (!destroyed && !(await consent.wait())) {
      error = 'no consent';
      answered();
    } else if (!destroyed) {
      const request: CallRequest = { v: 1, site: cfg.site, uid: visitorId(), consent: consent.wire, events: [event] };
      if (ids) request.ids = ids;
      try {
        const { status, body } = await platform.post(cfg.endpoint, JSON.stringify(request), cfg.timeout);
        const answer = status > 199 && status < 300 ? parseResponse(body) : undefined;
        error = answer ? undefined : status > 299 || status < 200 ? 'HTTP ' + status : 'malformed response';
        if (answer && !destroyed) {
          if (answer.uid) cookies.set(UID_COOKIE, answer.uid, UID_DAYS);
          writeSegments(answer.segments, answer.ttl || cfg.days);
        }
      } catch (e) {
        error = (e as Error).name == 'TimeoutError' ? 'timeout' : 'network error';
      }
      if (error) warn(`${type} call failed: ${error}`);
      answered();
    }
    const segments = getSegments();
    return { ok: !error, segments, targeting: toTargeting(segments), ...(error && { error }) };
  }

  return {
    page: (signals) => send('page', undefined, copySignals(signals)),
    track(name, signals) {
      check(typeof name == 'string' && /^.{1,100}$/.test(name), 'track() needs an event name of 1-100 characters');
      return send('track', name, copySignals(signals));
    },
    identify(declared) {
      ids = { ...ids, ...copyIds(declared) };
    },
    getSegments,
    getTargeting,
    ready(ms = 1000) {
      check(typeof ms == 'number' && ms >= 0, 'ready() needs a number of milliseconds');
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
      check(choice == 'in' || choice == 'out', "setConsent() needs 'in' or 'out'");
      consent.set(choice);
    },
    onSegments(listener) {
      check(typeof listener == 'function', 'onSegments() needs a function');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    destroy() {
      destroyed = true;
      listeners.clear();
      answered();
    },
  };
}
