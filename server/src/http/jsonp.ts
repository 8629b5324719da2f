/**
 * JSONP for `/event?...&d_cb=NAME` (Audience Manager's documented `d_cb`): the answer as
 * `/**\/NAME({...});`, `application/javascript`, with `X-Content-Type-Options: nosniff`.
 * Only a JavaScript identifier path reaches the script text (`acme_callback`, `window.aam.cb`);
 * the data is JSON with `<`, `>`, `&`, U+2028 and U+2029 escaped, so nothing in it can close a
 * `<script>` element or break the statement. The leading empty comment keeps the first bytes of
 * the answer fixed whatever the callback is.
 */

/** Identifiers of ASCII letters, digits, `_` and `$`, joined by dots; 1-128 characters in all. */
export const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
export const MAX_CALLBACK_CHARS = 128;

export const isCallback = (name: string) => name.length <= MAX_CALLBACK_CHARS && CALLBACK.test(name);

const UNSAFE = /[<>&\u2028\u2029]/g;
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON that is also safe inside a script: still valid JSON, the same value. */
export const scriptSafeJson = (data: unknown) => JSON.stringify(data).replace(UNSAFE, escape);

/** The script text; `callback` must have passed `isCallback`. */
export function jsonpBody(callback: string, data: unknown): string {
  if (!isCallback(callback)) throw new TypeError('not a callback name');
  return `/**/${callback}(${scriptSafeJson(data)});`;
}
