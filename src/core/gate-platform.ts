import { GRANTED, type Consent } from './consent';
import type { Platform } from './platform';

/** Platform members added by other parts (delivery's storage, pixels): gated when present. */
interface Optional {
  storage?: { get(key: string): string | null; set(key: string, value: string): void; remove(key: string): void };
  fire?: (url: string, hideReferrer: boolean) => Promise<boolean>;
}

/**
 * Wraps a Platform so that nothing on the device is read or written, and no pixel is
 * fired, unless consent is granted (reads answer "nothing", writes are dropped); calls
 * wait while consent is unknown and fail when it is denied. Every cookie (name + domain)
 * and storage key let through is recorded, and denial deletes exactly those, on the
 * domain they were written with; `own` names segtag's cookies from earlier pages, which
 * denial deletes too when they exist.
 */
export function gatePlatform<P extends Platform & Optional>(p: P, consent: Consent, own: string[]): P {
  const { cookies, storage, post } = p;
  // Deletions to run on denial, keyed so that each write is recorded once.
  const undo: Record<string, () => void> = {};
  const cookie = (name: string, _value?: string, _days?: number, domain?: string) =>
    (undo['c;' + name + ';' + domain] = () => void (cookies.get(name) != null && cookies.remove(name, domain)));
  const key = (k: string) => (undo['s;' + k] = () => storage!.remove(k));
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
  return {
    ...p,
    cookies: { ...cookies, get: gate(cookies, 'get'), set: gate(cookies, 'set', 0, cookie), remove: gate(cookies, 'remove') },
    post: (...a) => consent.wait().then((y) => (y ? post(...a) : Promise.reject(Error('no consent')))),
    ...(storage && { storage: { get: gate(storage, 'get', null), set: gate(storage, 'set', 0, key), remove: gate(storage, 'remove') } }),
    ...(p.fire && { fire: gate(p, 'fire', Promise.resolve(false)) }),
  };
}
