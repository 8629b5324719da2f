import { GRANTED, type Consent } from './consent';
import type { Platform } from './platform';

/**
 * Wraps a Platform so that nothing on the device is read or written unless consent is
 * granted (reads answer "nothing", writes are dropped); calls
 * wait while consent is unknown and fail when it is denied. Every cookie (name + domain)
 * and storage key let through is recorded, and denial deletes exactly those that still
 * exist, on the domain they were written with; `own` names segtag's cookies from earlier
 * pages, which denial deletes too when they exist.
 */
export function gatePlatform<P extends Platform>(p: P, consent: Consent, own: string[]): P {
  /**
   * The cookie jar or the storage, gated: `own` names what to delete on denial as if written
   * on this page; `none` is what its `get` answers without consent. Each has its own records.
   */
  const wrap = (o: any, own: string[], none?: null) => {
    // Deletions to run on denial, keyed so that each write (name + cookie domain) is
    // recorded once; ';' is in no cookie name.
    const undo: Record<string, () => void> = {};
    const record = (name: string, _value?: string, _days?: number, domain?: string) =>
      (undo[name + ';' + domain] = () => void (o.get(name) != null && o.remove(name, domain)));
    // Denied is 0: the only falsy state.
    const wipe = (s: number) => s || Object.values(undo).forEach((f) => f());
    own.forEach((n) => record(n));
    consent.on(wipe);
    wipe(consent.state());
    /** `o[m]` when granted (after `rec`), else `denied`. */
    const gate =
      (m: string, denied?: unknown, rec?: (...a: any[]) => void) =>
      (...a: any[]) =>
        consent.state() == GRANTED ? (rec?.(...a), o[m](...a)) : denied;
    return { ...o, get: gate('get', none), set: gate('set', 0, record), remove: gate('remove') };
  };
  return {
    ...p,
    cookies: wrap(p.cookies, own),
    async post(...a) {
      if (!(await consent.wait())) throw Error('no consent');
      return p.post(...a);
    },
    storage: wrap(p.storage, [], null),
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
