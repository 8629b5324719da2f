/**
 * What the core needs from its environment. The browser implementation lives in
 * src/browser/; tests pass plain objects, so the core never touches window or document.
 */
export interface CookieJar {
  get(name: string): string | undefined;
  /**
   * Writes with path=/, SameSite=Lax, Secure on https and the resolved domain. With
   * `domain` (a cookie destination's), writes only if it is that same domain (a leading
   * dot and case aside) and returns false without writing otherwise.
   */
  set(name: string, value: string, days: number, domain?: string): boolean | void;
  remove(name: string): void;
  /** The value as the jar will store it, to measure cookie size. */
  encode(value: string): string;
}

export interface HttpAnswer {
  status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export interface PageContext {
  url: string;
  ref?: string;
  title?: string;
}

/** localStorage, guarded: never throws (private mode, quota, sandboxed frames). */
export interface PlatformStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** What pixel macros need to know about consent (IAB TCF). */
export interface Consent {
  /** Whether GDPR applies (1) or not (0): `${GDPR}`; unknown: ''. */
  gdpr?: 0 | 1;
  /** The TC string: `${GDPR_CONSENT_<vendor>}`; unknown: ''. */
  tcString?: string;
}

export interface Platform {
  cookies: CookieJar;
  storage: PlatformStorage;
  /**
   * POSTs `body` (as `text/plain;charset=UTF-8` unless `contentType` says otherwise);
   * rejects on network failure, or with a `TimeoutError` after `timeout` ms.
   */
  post(url: string, body: string, timeout: number, contentType?: string): Promise<HttpAnswer>;
  /** Fires a pixel as an image: true when it loaded, false on error. */
  fire(url: string, hideReferrer: boolean): Promise<boolean>;
  /** The consent state for pixel macros, once a consent layer provides one. */
  consent?(): Consent | undefined;
  context(): PageContext;
  uuid(): string;
  now(): number;
}
