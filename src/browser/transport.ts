import type { HttpAnswer } from '../core/platform';

/** Answers larger than this are not parsed: the protocol's answers are a few KB. */
const MAX_ANSWER_CHARS = 1 << 20;

/**
 * POSTs JSON as text/plain (a CORS simple request, no preflight) without credentials;
 * `contentType` may name another simple type (the DCS codec's form encoding).
 * Rejects on network failure, or with an error named TimeoutError after `timeout` ms.
 * Every call is a keepalive fetch, so a call in flight when the visitor leaves still
 * reaches the server (the queue keeps bodies small enough that a call and an unload
 * flush fit the page's 64 KiB keepalive quota together). `flush`: browsers without
 * keepalive fetch (Firefox before 133) send the unload flush as a beacon instead, whose
 * string body goes out as text/plain;charset=UTF-8, also a simple request; its outcome is
 * unknown, so the call still rejects and its events stay queued (the server
 * de-duplicates a resend).
 */
export async function post(
  url: string,
  body: string,
  timeout: number,
  flush?: boolean,
  contentType?: string,
): Promise<HttpAnswer> {
  if (flush && !('keepalive' in Request.prototype)) throw navigator.sendBeacon(url, body);
  const res = await fetch(url, {
    method: 'POST',
    body,
    // A string body goes as text/plain;charset=UTF-8 unless told otherwise.
    headers: contentType ? { 'Content-Type': contentType } : undefined,
    credentials: 'omit',
    // Covers reading the body too. Browsers before 2022 lack it: no client-side timeout there.
    signal: AbortSignal.timeout?.(timeout),
    keepalive: true,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    if (text.length <= MAX_ANSWER_CHARS) parsed = JSON.parse(text);
  } catch {}
  return { _status: res.status, _body: parsed, _retry: res.headers.get('retry-after') };
}
