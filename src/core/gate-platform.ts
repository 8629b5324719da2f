import { DENIED, GRANTED, type Consent, type ConsentState } from './consent';
import type { Platform } from './platform';

/**
 * The consent gate: wraps a Platform so that nothing on the device is read or written unless
 * consent is granted (reads answer "nothing", writes are dropped). Calls are not gated here: the
 * client builds a request only once consent is granted (it holds events while unknown and drops
 * them when denied), which is the one place that decides. Every cookie and storage key let through is
 * recorded, and denial deletes exactly those that still exist (every cookie of segtag's is
 * written for one domain, the jar's); `own` names segtag's cookies from earlier pages, which
 * denial deletes too when they exist.
 */
export function gatePlatform<P extends Platform>(platform: P, consent: Consent, own: string[]): P {
  return {
    ...platform,
    _cookies: gateStore(platform._cookies, consent, own),
    _storage: gateStore(platform._storage, consent, [], null),
  };
}

/**
 * Remembers the names written to `store` (`record(name)`) and deletes those that still exist
 * whenever consent becomes denied, and at once if it already is.
 */
function deleteOnDenial(consent: Consent, store: DeviceStore, own: string[]) {
  const written = new Set(own);
  const wipe = (state: ConsentState) => {
    if (state != DENIED) return;
    written.forEach((name) => {
      if (store.get(name) != null) store.remove(name);
    });
  };
  consent._on(wipe);
  wipe(consent._state());
  return (name: string) => written.add(name);
}

/** What the cookie jar and the storage have in common. */
interface DeviceStore {
  get(name: string): string | null | undefined;
  set(name: string, value: string, days?: number): void;
  remove(name: string): void;
}

/**
 * The cookie jar or the storage, gated: reads answer `none` (the jar's undefined, the storage's
 * null) and writes do nothing unless
 * consent is granted; what is written is recorded for deletion on denial.
 */
function gateStore<S extends DeviceStore>(store: S, consent: Consent, own: string[], none?: null): S {
  const granted = () => consent._state() == GRANTED;
  const record = deleteOnDenial(consent, store, own);
  return {
    ...store,
    get: (name: string) => (granted() ? store.get(name) : none),
    set(name: string, value: string, days?: number) {
      if (!granted()) return;
      record(name);
      store.set(name, value, days);
    },
    remove(name: string) {
      if (granted()) store.remove(name);
    },
  };
}

/**
 * The pixel side of the gate, for the destinations feature: no pixel is fired unless consent
 * is granted (resolves false), and what pixel macros know of consent: ${GDPR} and
 * ${GDPR_CONSENT_<vendor>}.
 */
export const gatePixels = (
  fire: NonNullable<Platform['_fire']>,
  consent: Consent,
): Pick<Platform, '_fire' | '_macroConsent'> => ({
  _fire: (url, hideReferrer) => (consent._state() == GRANTED ? fire(url, hideReferrer) : Promise.resolve(false)),
  _macroConsent() {
    const { gdpr, tcf } = consent._wire;
    return { gdpr: gdpr == null ? undefined : gdpr ? 1 : 0, tcString: tcf };
  },
});
