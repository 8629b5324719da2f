import { GRANTED, type Consent } from './consent';
import type { Platform } from './platform';

/**
 * Wraps a Platform so that nothing on the device is read or written unless consent is
 * granted (reads answer "nothing", writes are dropped); calls
 * wait while consent is unknown and fail when it is denied. Every cookie (name + domain)
 * and storage key let through is recorded, and denial deletes exactly those, on the
 * domain they were written with; `own` names segtag's cookies from earlier pages, which
 * denial deletes too when they exist.
 */
export function gatePlatform<P extends Platform>(p: P, consent: Consent, own: string[]): P {
  const { cookies, storage, post } = p;
  // Deletions to run on denial, keyed so that each write is recorded once (cookie keys
  // hold a ';', which no cookie name has; segtag's storage keys have none).
  const undo: Record<string, () => void> = {};
  const cookie = (name: string, _value?: string, _days?: number, domain?: string) =>
    (undo[name + ';' + domain] = () => void (cookies.get(name) != null && cookies.remove(name, domain)));
  const key = (k: string) => (undo[k] = () => storage.remove(k));
  // Denied is 0: the only falsy state.
  const wipe = (s: number) => s || Object.values(undo).forEach((f) => f());
  own.forEach((n) => cookie(n));
  consent.on(wipe);
  wipe(consent.state());
  /** `o[m]` when granted (after `record`), else `denied`. */
  const gate =
    (o: any, m: string, denied?: unknown, record?: (...a: any[]) => void) =>
    (...a: any[]) =>
      consent.state() == GRANTED ? (record?.(...a), o[m](...a)) : denied;
  const wrap = (o: any, none: null | undefined, record: (...a: any[]) => void) => ({
    ...o,
    get: gate(o, 'get', none),
    set: gate(o, 'set', 0, record),
    remove: gate(o, 'remove'),
  });
  return {
    ...p,
    cookies: wrap(cookies, undefined, cookie),
    post: (...a) => consent.wait().then((y) => (y ? post(...a) : Promise.reject(Error('no consent')))),
    storage: wrap(storage, null, key),
  };
}

/**
 * The pixel side of the gate, for the builds that carry destinations: no pixel is fired
 * unless consent is granted (resolves false), and what pixel macros know of consent:
 * ${GDPR} and ${GDPR_CONSENT_<vendor>}.
 */
export const gatePixels = (fire: NonNullable<Platform['fire']>, consent: Consent): Pick<Platform, 'fire' | 'consent'> => ({
  fire: (url, hideReferrer) => (consent.state() == GRANTED ? fire(url, hideReferrer) : Promise.resolve(false)),
  consent: () => ({ gdpr: consent.wire.gdpr == null ? undefined : consent.wire.gdpr ? 1 : 0, tcString: consent.wire.tcf }),
});
