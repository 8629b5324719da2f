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
