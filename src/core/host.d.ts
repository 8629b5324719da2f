/**
 * What the core uses of its host, declared by hand instead of the DOM library: the timers,
 * the console and the WHATWG URL classes that browsers, workers and Node all have. Anything
 * page-specific (cookies, storage, fetch, history, window) reaches the core only through the
 * injected Platform; an attempt to use `window` or `document` here fails to compile.
 */

declare function setTimeout(callback: () => void, ms?: number): number;
declare function clearTimeout(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;

declare const console: {
  warn(...data: unknown[]): void;
  info(...data: unknown[]): void;
};

declare class URL {
  constructor(url: string, base?: string);
  readonly protocol: string;
  readonly hostname: string;
  readonly href: string;
}

declare class URLSearchParams {
  constructor(init?: string);
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  toString(): string;
}
