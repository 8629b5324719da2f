/**
 * The server part's workload: generated rules files (the format of server/examples/segments.json
 * and the rules docs) and protocol-v1 request bodies whose signals match a few of the generated
 * traits.
 */

/** Signal keys the generated traits spread over; each trait tests one key for one distinct value. */
const KEYS = 10;
/** How many generated traits one request matches (plus the page-view trait). */
export const MATCHED_PER_REQUEST = 3;

/**
 * `n` segments over `n` signal traits and one page-view trait. Segments mix the rule forms a real
 * file has: a single trait, an `or` of two, and an `and` with a count condition.
 */
export function generateRules(n) {
  const traits = [{ id: 'page-view', name: 'Any page view', where: { type: 'page' } }];
  for (let i = 0; i < n; i++) {
    traits.push({ id: `t${i}`, where: { signal: `c_k${i % KEYS}`, op: 'equals', value: `v${i}` } });
  }
  const segments = [];
  for (let i = 0; i < n; i++) {
    const own = { trait: `t${i}` };
    const rule =
      i % 3 == 0
        ? own
        : i % 3 == 1
          ? { or: [own, { trait: `t${(i + 1) % n}` }] }
          : { and: [own, { trait: 'page-view', atLeast: 2 }] };
    segments.push({ id: String(100000 + i), name: `Generated segment ${i}`, rule });
  }
  return { ttlDays: 30, description: `bench: ${n} generated segments`, traits, segments };
}

/** Visitor ids of the workload: `u` (or another one-letter `prefix`) and 11 digits, e.g. u00000000042. */
export const uidOf = (i, prefix = 'u') => `${prefix}${String(i).padStart(11, '0')}`;

let eventSeq = 0;
let freshSeq = 0;
const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;

/** One page event with a fresh id, its signals matching MATCHED_PER_REQUEST generated traits chosen at random. */
function eventJson(segments) {
  const groups = Math.max(1, Math.floor(segments / KEYS));
  const base = KEYS * Math.floor(Math.random() * groups);
  let signals = '';
  for (let j = 0; j < MATCHED_PER_REQUEST; j++) signals += `"c_k${j}":"v${base + j}",`;
  return (
    `{"id":"e${run}-${++eventSeq}","type":"page","ts":${Date.now()},` +
    `"url":"https://www.news.pub.test/sports/f1/race-report","ref":"https://www.news.pub.test/sports","title":"Race report",` +
    `"signals":{${signals}"c_section":"sports","c_tags":["f1","motor"],"p_subscriber":true}}`
  );
}

/**
 * One real-time call body: the given visitor and `events` page events (1 unless seeding), each
 * with a fresh id (so the server counts it) and signals that match MATCHED_PER_REQUEST
 * consecutive generated traits chosen at random.
 */
export function requestBody(uid, segments, events = 1) {
  let list = eventJson(segments);
  for (let k = 1; k < events; k++) list += `,${eventJson(segments)}`;
  return `{"v":1,"site":"bench","uid":"${uid}","events":[${list}]}`;
}

/**
 * A body maker from a plain (serializable) spec, so the load generator's own process can build
 * the bodies:
 *   { segments, visitors: { random: N, prefix? } }   a visitor picked at random among N
 *   { segments, visitors: { from, to, prefix? } }     visitors from .. to-1 in turn, then again
 *   { segments, visitors: 'fresh' }                    a new visitor on every call
 * plus `events` (page events per call, default 1).
 */
export function bodyMaker({ segments, visitors, events = 1 }) {
  let uid;
  if (visitors == 'fresh') uid = () => `n${run}x${++freshSeq}`;
  else if (visitors.random) uid = () => uidOf(Math.floor(Math.random() * visitors.random), visitors.prefix);
  else {
    let next = visitors.from;
    uid = () => {
      if (next >= visitors.to) next = visitors.from;
      return uidOf(next++, visitors.prefix);
    };
  }
  return () => requestBody(uid(), segments, events);
}
