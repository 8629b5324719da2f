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
import { countWithin, type TraitBuckets } from '../profiles/profile';
import { matchesWhere, pathOf } from './match';
import type { Rule, Rules, Scalar, Trait } from './types';

/** A rule with trait references resolved to their window. */
type Node = { trait: string; atLeast: number; days: number } | { and: Node[] } | { or: Node[] } | { not: Node };

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
  /**
   * Ids of the segments that hold on `today` (a UTC day number) for these counts, in rules order.
   * With `since` (this engine's answer earlier on the same day, and the traits counted since),
   * only the segments naming a changed trait are evaluated.
   */
  segmentsFor(traits: TraitBuckets, today: number, since?: SinceEarlierToday): string[];
}

/** What a visitor's previous evaluation (same engine, same UTC day) tells the next one. */
export interface SinceEarlierToday {
  previous: readonly string[];
  changed: ReadonlySet<string>;
}

export function compileRules(rules: Rules): Engine {
  const defaultDays = Math.ceil(rules.ttlDays);
  const traitIndex = indexTraits(rules.traits);

  const nodes = rules.segments.map((s) => resolve(s.rule, defaultDays));
  const byTrait = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    for (const t of new Set(traitsOf(node))) push(byTrait, t, i);
  });
  // Segments that hold for a visitor without any of their traits (only through `not`): computed
  // once here, so per call only the segments naming one of the visitor's traits are evaluated.
  const whenEmpty = nodes.flatMap((node, i) => (holds(node, () => 0) ? [i] : []));
  const keepDays = Math.max(defaultDays, ...nodes.flatMap((n) => windowsOf(n)));
  const traitIds = new Set(rules.traits.map((t) => t.id));
  // Without `not`, more counts never make a segment stop holding.
  const monotone = nodes.map((node) => !hasNot(node));
  const indexOf = new Map(rules.segments.map((s, i) => [s.id, i]));

  return {
    rules,
    keepDays,
    fingerprint: fingerprintOf(rules),
    hasTrait: (id) => traitIds.has(id),
    traitsFor: traitIndex,
    segmentsFor(traits, today, since) {
      const touched = new Set<number>();
      for (const t of since ? since.changed : traits.keys()) for (const i of byTrait.get(t) ?? []) touched.add(i);
      const cache = new Map<string, number>();
      const count = (trait: string, days: number) => {
        const buckets = traits.get(trait);
        if (!buckets) return 0; // the common case: no key to build
        const key = `${days}\n${trait}`;
        let n = cache.get(key);
        if (n === undefined) cache.set(key, (n = countWithin(buckets, today, days)));
        return n;
      };
      // Untouched segments keep the answer they had: the previous one today, else the one for no counts.
      const before = since ? indicesOf(since.previous, indexOf) : new Set(whenEmpty);
      const held: number[] = [];
      for (const i of before) if (!touched.has(i)) held.push(i);
      for (const i of touched) if ((since && monotone[i] && before.has(i)) || holds(nodes[i], count)) held.push(i);
      return held.sort((a, b) => a - b).map((i) => rules.segments[i].id);
    },
  };
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

function indicesOf(ids: readonly string[], indexOf: ReadonlyMap<string, number>): Set<number> {
  const out = new Set<number>();
  for (const id of ids) {
    const i = indexOf.get(id);
    if (i !== undefined) out.add(i);
  }
  return out;
}

function hasNot(node: Node): boolean {
  if ('trait' in node) return false;
  if ('not' in node) return true;
  return ('and' in node ? node.and : node.or).some(hasNot);
}

function resolve(rule: Rule, defaultDays: number): Node {
  if ('trait' in rule) return { trait: rule.trait, atLeast: rule.atLeast, days: rule.withinDays ?? defaultDays };
  if ('and' in rule) return { and: rule.and.map((r) => resolve(r, defaultDays)) };
  if ('or' in rule) return { or: rule.or.map((r) => resolve(r, defaultDays)) };
  return { not: resolve(rule.not, defaultDays) };
}

function traitsOf(node: Node): string[] {
  if ('trait' in node) return [node.trait];
  if ('not' in node) return traitsOf(node.not);
  return ('and' in node ? node.and : node.or).flatMap(traitsOf);
}

function windowsOf(node: Node): number[] {
  if ('trait' in node) return [node.days];
  if ('not' in node) return windowsOf(node.not);
  return ('and' in node ? node.and : node.or).flatMap(windowsOf);
}

function holds(node: Node, count: (trait: string, days: number) => number): boolean {
  if ('trait' in node) return count(node.trait, node.days) >= node.atLeast;
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
