// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { post } from '../src/browser/transport';

afterEach(() => vi.unstubAllGlobals());

/** Replaces fetch; returns the calls it saw. */
function stubFetch(status = 200, text = '{"segments":[]}', headers: Record<string, string> = {}) {
  const calls: [string, RequestInit][] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push([url, init]);
    return new Response(text, { status, headers });
  });
  return calls;
}

describe('post (the transport)', () => {
  it('sends a credential-less keepalive POST with a text body and no Content-Type (a CORS simple request)', async () => {
    const calls = stubFetch();
    await post('https://rtc.example/v1/rtc', '{"v":1}', 2000);
    expect(calls).toHaveLength(1);
    const [url, init] = calls[0];
    expect(url).toBe('https://rtc.example/v1/rtc');
    // Third-party cookies never travel with segtag's calls: the visitor id is in the body.
    expect(init.credentials).toBe('omit');
    expect(init.method).toBe('POST');
    expect(init.keepalive).toBe(true);
    expect(init.body).toBe('{"v":1}');
    expect(init.headers).toBeUndefined();
  });

  it('names another simple Content-Type when asked (the DCS form encoding)', async () => {
    const calls = stubFetch();
    await post('/event', 'd_rtbd=json', 2000, false, 'application/x-www-form-urlencoded');
    expect(calls[0][1].headers).toEqual({ 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(calls[0][1].credentials).toBe('omit');
  });

  it('answers the status, the parsed body and Retry-After; a body that is not JSON is undefined', async () => {
    stubFetch(503, 'busy', { 'Retry-After': '7' });
    expect(await post('/rtc', '{}', 2000)).toEqual({ _status: 503, _body: undefined, _retry: '7' });
    stubFetch(200, '{"segments":["1"]}');
    expect(await post('/rtc', '{}', 2000)).toEqual({ _status: 200, _body: { segments: ['1'] }, _retry: null });
  });
});
