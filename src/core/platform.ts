/**
 * What the core needs from its environment. The browser implementation lives in
 * src/browser/; tests pass plain objects, so the core never touches window or document.
 * Members the core alone uses are `_`-prefixed: the builds shorten them.
 */
export interface CookieJar {
  get(name: string): string | undefined;
  /** Writes with path=/, SameSite=Lax, Secure on https and the resolved domain. */
  set(name: string, value: string, days: number): void;
  /** Deletes with the attributes it was written with. */
  remove(name: string): void;
  /** The value as the jar will store it, to measure cookie size. */
  encode(value: string): string;
  /**
   * The domain every cookie is written for: the resolved `cookie.domain`, or the page's host
   * for host-only cookies. Cookie destinations naming another domain are not written.
   */
  _domain(): string;
}

export interface HttpAnswer {
  _status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  _body: unknown;
  /** The `Retry-After` header, if the response has one the page may read. */
  _retry?: string | null;
}

/**
 * A key-value store that never throws (the browser's is localStorage): reads answer null
 * and writes do nothing when storage is missing, full, disabled or forbidden. Every
 * localStorage access of segtag goes through it, so consent can gate it in one place.
 */
export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export interface PageContext {
  url: string;
  ref?: string;
  title?: string;
}

/** What pixel macros need to know about consent (IAB TCF). */
export interface MacroConsent {
  /** Whether GDPR applies (1) or not (0): `${GDPR}`; unknown: ''. */
  gdpr?: 0 | 1;
  /** The TC string: `${GDPR_CONSENT_<vendor>}`; unknown: ''. */
  tcString?: string;
}

export interface Platform {
  _cookies: CookieJar;
  _storage: KeyValueStore;
  /**
   * POSTs `body` (as `text/plain;charset=UTF-8` unless `contentType` names another CORS simple
   * type); rejects on network failure, or with a `TimeoutError` after `timeout` ms.
   * The request outlives the page (keepalive). `flush`: this is the unload flush, which may
   * go as a beacon where keepalive fetch is missing (then it rejects: outcome unknown).
   */
  _post(url: string, body: string, timeout: number, flush?: boolean, contentType?: string): Promise<HttpAnswer>;
  /** False while the browser knows it is offline. */
  _online(): boolean;
  /**
   * Calls `listener(true)` when the page is hidden (time to flush with keepalive),
   * `listener(true, true)` when it is left (flush, and hand the queue over to the next page),
   * `listener(false)` when it is visible again or back online. Returns a function that
   * removes the listeners.
   */
  _lifecycle(listener: (hidden: boolean, leaving?: boolean) => void): () => void;
  /**
   * Fires a pixel as an image: true when it loaded, false on error. Only with the destinations
   * feature (src/destinations.ts brings it, behind `gatePixels`).
   */
  _fire?(url: string, hideReferrer: boolean): Promise<boolean>;
  /** The consent state for pixel macros, once a consent layer provides one. */
  _macroConsent?(): MacroConsent | undefined;
  _context(): PageContext;
  _uuid(): string;
  _now(): number;
}
