import type { HttpAnswer } from '../core/platform';

/** Answers larger than this are not parsed: the protocol's answers are a few KB. */
const MAX_ANSWER_CHARS = 1 << 20;

/**
 * POSTs JSON as text/plain (a CORS simple request, no preflight) without credentials;
 * `contentType` may name another simple type (the DCS codec's form encoding).
 * Rejects on network failure, or with an error named TimeoutError after `timeout` ms.
 */
export async function post(url: string, body: string, timeout: number, contentType = 'text/plain;charset=UTF-8'): Promise<HttpAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeout);
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': contentType },
      credentials: 'omit',
      signal: controller.signal,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      if (text.length <= MAX_ANSWER_CHARS) parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  } finally {
    clearTimeout(timer);
  }
}
