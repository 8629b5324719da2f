/**
 * Compiles validated rules into an engine that answers the two questions a call asks:
 * which traits does this event match, and which segments hold for these trait counts?
 *
 * Both are indexed so the cost follows the visitor, not the size of the rules file:
 * - traits by signal key (and by value for `equals`/`in`), event name and event type, so an event
 *   is checked only against traits that could match it;
 * - segments by the traits they name: a segment none of whose traits the visitor has is not
 *   evaluated; its answer with all counts at zero is computed once, here;
 * - and, for a visitor evaluated earlier the same UTC day with the same rules, only the segments
 *   naming a trait counted in this call can change (counts only grow within a day): the others
 *   keep their previous answer, and a segment without `not` that held still holds.
 */
import { createHash } from 'node:crypto';
import type { WireEvent } from 'segtag/protocol';
import { countWithin, type Buckets, type TraitBuckets } from '../profiles/profile';
import { matchesWhere, pathOf } from './match';
import type { Rule, Rules, Scalar, Trait } from './types';

/** A rule with trait references resolved to their window. */
/** A segment's rule, resolved; `window` numbers each distinct (trait, days) pair, for the per-call count memo. */
type Node =
  { trait: string; atLeast: number; days: number; window: number } | { and: Node[] } | { or: Node[] } | { not: Node };

export interface Engine {
  readonly rules: Rules;
  /** Days any rule can look back: older buckets can be dropped. */
  readonly keepDays: number;
  /** Whether the rules define this trait (counts of others are dropped). */
  hasTrait(id: string): boolean;
  /** Ids of the traits the event matches, each once, in no particular order. */
  traitsFor(event: WireEvent): string[];
  /**
   * Identifies what evaluation depends on (trait ids, segments, ttl): a profile records it with
   * its segments, so a later call knows whether they are still this engine's answer.
   */
  readonly fingerprint: string;
  /** Ids of the segments that hold on `today` (a UTC day number) for these counts, in rules order. */
  segmentsFor(traits: TraitBuckets, today: number): readonly string[];
  /**
   * The same for a visitor this engine answered earlier on the same day (`since`), and the
   * segments entered and exited since, in rules order. Only the segments with a condition whose
   * outcome the counts since changed are evaluated: a page-view trait counted on every call
   * changes the outcome of `at least N page views` only on the call that reaches N.
   */
  segmentsSince(traits: TraitBuckets, today: number, since: SinceEarlierToday): Evaluated;
}

/** What a visitor's previous evaluation (same engine, same UTC day) tells the next one. */
export interface SinceEarlierToday {
  previous: readonly string[];
  /** The counts `previous` was evaluated with. */
  counts: TraitBuckets;
  /** The traits counted since. */
  changed: Iterable<string>;
}

/** An evaluation and what it changed. */
export interface Evaluated {
  segments: readonly string[];
  entered: string[];
  exited: string[];
}

/** The conditions on one trait with the same window and threshold, and the segments using them. */
interface Condition {
  days: number;
  atLeast: number;
  segments: number[];
}

export function compileRules(rules: Rules): Engine {
  const defaultDays = Math.ceil(rules.ttlDays);
  const traitIndex = indexTraits(rules.traits);

  const windows = new Map<string, number>(); // `${days}\n${trait}` -> its number
  const nodes = rules.segments.map((s) => resolve(s.rule, defaultDays, windows));
  const ids = rules.segments.map((s) => s.id);
  const byTrait = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    for (const t of new Set(leavesOf(node).map((leaf) => leaf.trait))) push(byTrait, t, i);
  });
  const conditions = conditionsByTrait(nodes);
  // Segments that hold for a visitor without any of their traits (only through `not`): computed
  // once here, so per call only the segments naming one of the visitor's traits are evaluated.
  const whenEmpty = nodes.flatMap((node, i) => (holds(node, () => 0) ? [i] : []));
  const keepDays = Math.max(defaultDays, ...nodes.flatMap((n) => leavesOf(n).map((leaf) => leaf.days)));
  const traitIds = new Set(rules.traits.map((t) => t.id));
  // Without `not`, more counts never make a segment stop holding.
  const monotone = nodes.map((node) => !hasNot(node));
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const flagsByAnswer = new WeakMap<readonly string[], Uint8Array>();

  return {
    rules,
    keepDays,
    fingerprint: fingerprintOf(rules),
    hasTrait: (id) => traitIds.has(id),
    traitsFor: traitIndex,
    segmentsFor(traits, today) {
      const count = counter(traits, today);
      // Every segment naming a trait the visitor has; the others answer as with no counts.
      const held = new Uint8Array(nodes.length);
      for (const i of whenEmpty) held[i] = 1;
      const touched = new Set<number>();
      for (const t of traits.keys()) for (const i of byTrait.get(t) ?? []) touched.add(i);
      for (const i of touched) held[i] = holds(nodes[i], count) ? 1 : 0;
      return answer(held);
    },
    segmentsSince(traits, today, since) {
      const count = counter(traits, today);
      const held = flagsOf(since.previous).slice();
      const flipped: number[] = [];
      for (const i of touchedSince(since, traits, today)) {
        // A segment without `not` that held earlier today still holds: counts only grew.
        if (monotone[i] && held[i]) continue;
        const now = holds(nodes[i], count) ? 1 : 0;
        if (now == held[i]) continue;
        held[i] = now;
        flipped.push(i);
      }
      // The usual call changes nothing: the previous answer stands, as it is.
      if (!flipped.length) return { segments: since.previous, entered: [], exited: [] };
      flipped.sort((a, b) => a - b);
      return {
        segments: answer(held),
        entered: flipped.filter((i) => held[i]).map((i) => ids[i]),
        exited: flipped.filter((i) => !held[i]).map((i) => ids[i]),
      };
    },
  };

  /** Counts of (trait, window) for these buckets on `today`, each computed once per call. */
  function counter(traits: TraitBuckets, today: number) {
    const memo: number[] = []; // window number -> count
    return (node: TraitNode) => (memo[node.window] ??= countOf(traits.get(node.trait), today, node.days));
  }

  /** The segments whose conditions on the traits counted since changed outcome (counts only grew: same day). */
  function touchedSince(since: SinceEarlierToday, traits: TraitBuckets, today: number): Set<number> {
    const touched = new Set<number>();
    for (const t of since.changed) {
      const [before, after] = [since.counts.get(t), traits.get(t)];
      for (const c of conditions.get(t) ?? []) {
        const was = countOf(before, today, c.days) >= c.atLeast;
        if (was != countOf(after, today, c.days) >= c.atLeast) for (const i of c.segments) touched.add(i);
      }
    }
    return touched;
  }

  /** The ids of the flagged segments, in rules order; its flags are remembered for the next call. */
  function answer(held: Uint8Array): readonly string[] {
    const out: string[] = [];
    for (let i = 0; i < held.length; i++) if (held[i]) out.push(ids[i]);
    flagsByAnswer.set(out, held);
    return out;
  }

  /** An earlier answer's flags: remembered while it lives (the memory store keeps it), else from its ids. */
  function flagsOf(answer: readonly string[]): Uint8Array {
    let held = flagsByAnswer.get(answer);
    if (!held) {
      held = new Uint8Array(nodes.length);
      for (const id of answer) {
        const i = indexOf.get(id);
        if (i !== undefined) held[i] = 1;
      }
    }
    return held;
  }
}

/** What evaluation depends on: which traits exist (counts of others are dropped), the segments, the ttl. */
function fingerprintOf(rules: Rules): string {
  const basis = JSON.stringify([
    rules.ttlDays,
    rules.traits.map((t) => t.id),
    rules.segments.map((s) => [s.id, s.rule]),
  ]);
  return createHash('sha256').update(basis).digest('base64url').slice(0, 16);
}

function conditionsByTrait(nodes: Node[]): Map<string, Condition[]> {
  const out = new Map<string, Map<string, Condition>>();
  nodes.forEach((node, segment) => {
    for (const leaf of leavesOf(node)) {
      let byKey = out.get(leaf.trait);
      if (!byKey) out.set(leaf.trait, (byKey = new Map()));
      const key = `${leaf.days} ${leaf.atLeast}`;
      let c = byKey.get(key);
      if (!c) byKey.set(key, (c = { days: leaf.days, atLeast: leaf.atLeast, segments: [] }));
      if (c.segments.at(-1) !== segment) c.segments.push(segment);
    }
  });
  return new Map([...out].map(([trait, byKey]) => [trait, [...byKey.values()]]));
}

function hasNot(node: Node): boolean {
  if ('trait' in node) return false;
  if ('not' in node) return true;
  return ('and' in node ? node.and : node.or).some(hasNot);
}

type TraitNode = Extract<Node, { trait: string }>;

const countOf = (buckets: Buckets | undefined, today: number, days: number) =>
  buckets ? countWithin(buckets, today, days) : 0;

function resolve(rule: Rule, defaultDays: number, windows: Map<string, number>): Node {
  if ('trait' in rule) {
    const days = rule.withinDays ?? defaultDays;
    const key = `${days}\n${rule.trait}`;
    let window = windows.get(key);
    if (window === undefined) windows.set(key, (window = windows.size));
    return { trait: rule.trait, atLeast: rule.atLeast, days, window };
  }
  if ('and' in rule) return { and: rule.and.map((r) => resolve(r, defaultDays, windows)) };
  if ('or' in rule) return { or: rule.or.map((r) => resolve(r, defaultDays, windows)) };
  return { not: resolve(rule.not, defaultDays, windows) };
}

/** A rule's conditions on traits, in rule order. */
function leavesOf(node: Node): TraitNode[] {
  if ('trait' in node) return [node];
  if ('not' in node) return leavesOf(node.not);
  return ('and' in node ? node.and : node.or).flatMap(leavesOf);
}

function holds(node: Node, count: (node: TraitNode) => number): boolean {
  if ('trait' in node) return count(node) >= node.atLeast;
  if ('and' in node) return node.and.every((n) => holds(n, count));
  if ('or' in node) return node.or.some((n) => holds(n, count));
  return !holds(node.not, count);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Builds `traitsFor`: candidates come from the index, then every condition is checked. */
function indexTraits(traits: Trait[]): (event: WireEvent) => string[] {
  const byValue = new Map<string, Map<Scalar, Trait[]>>(); // signal -> value -> traits (equals, in)
  const bySignal = new Map<string, Trait[]>(); // other signal ops
  const byEvent = new Map<string, Trait[]>(); // track event name, no signal condition
  const byType = { page: [] as Trait[], track: [] as Trait[] }; // a type, no signal or name
  const any: Trait[] = []; // only a path condition
  let needsPath = false;

  for (const trait of traits) {
    const w = trait.where;
    if (w.pathPrefix !== undefined) needsPath = true;
    if (w.signal !== undefined && (w.op == 'equals' || w.op == 'in')) {
      let values = byValue.get(w.signal);
      if (!values) byValue.set(w.signal, (values = new Map()));
      for (const v of new Set(w.op == 'in' ? (w.value as Scalar[]) : [w.value as Scalar])) push(values, v, trait);
    } else if (w.signal !== undefined) push(bySignal, w.signal, trait);
    else if (w.event !== undefined) push(byEvent, w.event, trait);
    else if (w.type !== undefined) byType[w.type].push(trait);
    else any.push(trait);
  }

  return (event) => {
    const candidates = new Set<Trait>();
    const add = (list: Trait[] | undefined) => list?.forEach((t) => candidates.add(t));
    for (const key of Object.keys(event.signals)) {
      const values = byValue.get(key);
      if (values) {
        const v = event.signals[key];
        if (Array.isArray(v)) v.forEach((x) => add(values.get(x)));
        else add(values.get(v));
      }
      add(bySignal.get(key));
    }
    if (event.type == 'track' && event.name !== undefined) add(byEvent.get(event.name));
    add(byType[event.type]);
    add(any);
    const path = needsPath ? pathOf(event.url) : '';
    const out: string[] = [];
    for (const t of candidates) if (matchesWhere(t.where, event, path)) out.push(t.id);
    return out;
  };
}
