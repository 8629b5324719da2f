/**
 * The rules the server-to-server tests share: three traits and the segments partners receive.
 * `heavyAtLeast`: page views for the `heavy` segment (a large number keeps it out of a test).
 */
export const S2S_TRAITS = [
  { id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } },
  { id: 'buy', where: { event: 'buy' } },
  { id: 'pv', where: { type: 'page' } },
];

export const s2sSegments = (heavyAtLeast?: number) => [
  { id: 'sports', rule: { trait: 'sports' } },
  { id: 'nonbuyer', rule: { and: [{ trait: 'pv' }, { not: { trait: 'buy' } }] } },
  ...(heavyAtLeast ? [{ id: 'heavy', rule: { trait: 'pv', atLeast: heavyAtLeast } }] : []),
];

/**
 * The partner sink's answers in the multi-process tests, deterministic: of every 20 requests,
 * 6 fail with 503 (30%) and 1 hangs (5%).
 */
export function flakyAnswers() {
  let n = 0;
  return () => {
    const r = n++ % 20;
    return r < 6 ? { status: 503 } : r == 6 ? { hang: true } : {};
  };
}

/** A real-time partner that retries fast and gives up on a hanging request after 400 ms. */
export const fastRetryingPartner = (url: string) => ({
  id: 'rt',
  type: 'realtime',
  url,
  intervalSeconds: 1,
  segments: 'all',
  maxUsersPerMessage: 10,
  timeoutMs: 400,
  retries: 20,
  retryBaseMs: 20,
});
