/**
 * Compiles validated rules into an engine that answers the two questions a call asks:
 * which traits does this event match, and which segments hold for these trait counts?
 *
 * Both are indexed so the cost follows the visitor, not the size of the rules file:
 * - traits by signal key (and by value for `equals`/`in`), event name and event type, so an event
 *   is checked only against traits that could match it;
 * - segments by the traits they name: a segment none of whose traits the visitor has is not
 *   evaluated; its answer with all counts at zero is computed once, here.
 */
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
  /** Ids of the segments that hold on `today` (a UTC day number) for these counts, in rules order. */
  segmentsFor(traits: TraitBuckets, today: number): string[];
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

  return {
    rules,
    keepDays,
    hasTrait: (id) => traitIds.has(id),
    traitsFor: traitIndex,
    segmentsFor(traits, today) {
      const touched = new Set<number>();
      for (const t of traits.keys()) for (const i of byTrait.get(t) ?? []) touched.add(i);
      const cache = new Map<string, number>();
      const count = (trait: string, days: number) => {
        const key = `${days}\n${trait}`;
        let n = cache.get(key);
        if (n === undefined) {
          const buckets = traits.get(trait);
          cache.set(key, (n = buckets ? countWithin(buckets, today, days) : 0));
        }
        return n;
      };
      const held: number[] = [];
      for (const i of touched) if (holds(nodes[i], count)) held.push(i);
      for (const i of whenEmpty) if (!touched.has(i)) held.push(i);
      return held.sort((a, b) => a - b).map((i) => rules.segments[i].id);
    },
  };
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
