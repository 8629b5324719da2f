/**
 * What the core needs from its environment. The browser implementation lives in
 * src/browser/; tests pass plain objects, so the core never touches window or document.
 */
export interface CookieJar {
  get(name: string): string | undefined;
  /** Writes with path=/, SameSite=Lax, Secure on https and `domain`, else the resolved domain. */
  set(name: string, value: string, days: number, domain?: string): void;
  /** Deletes with the same attributes it was written with (same `domain`). */
  remove(name: string, domain?: string): void;
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

export interface Platform {
  cookies: CookieJar;
  /** POSTs `body`; rejects on network failure, or with a `TimeoutError` after `timeout` ms. */
  post(url: string, body: string, timeout: number): Promise<HttpAnswer>;
  context(): PageContext;
  uuid(): string;
  now(): number;
}
