/**
 * Trait matching (one event against a trait's `where`) and segment rules (boolean logic over
 * per-trait counts). Pure functions: the caller owns loading and storing profiles.
 */
import type { SignalValue, WireEvent } from '../protocol/types';
import type { Op, Rule, Rules, Scalar, Where } from './rules';

/** Events that matched each trait, by trait id. A null-prototype object: ids are data, not keys of Object. */
export type TraitCounts = Record<string, number>;

export function emptyCounts(): TraitCounts {
  return Object.create(null);
}

/** True when the event meets every condition the trait's `where` gives. */
export function matchesWhere(where: Where, event: WireEvent): boolean {
  if (where.type && event.type != where.type) return false;
  if (where.event !== undefined && (event.type != 'track' || event.name != where.event)) return false;
  if (where.pathPrefix !== undefined && !pathOf(event.url).startsWith(where.pathPrefix)) return false;
  if (where.signal !== undefined) {
    const actual = Object.hasOwn(event.signals, where.signal) ? event.signals[where.signal] : undefined;
    return testSignal(where.op!, where.value, actual);
  }
  return true;
}

function pathOf(url: string): string {
  try {
    return new URL(url, 'http://unknown.invalid').pathname;
  } catch {
    return '';
  }
}

function testSignal(op: Op, expected: Where['value'], actual: SignalValue | undefined): boolean {
  if (actual === undefined) return false;
  if (op == 'exists') return true;
  if (Array.isArray(actual)) {
    // A multi-valued signal: `contains` is membership, other ops hold when any value meets them.
    if (op == 'contains') return actual.includes(expected as string);
    return actual.some((v) => testScalar(op, expected, v));
  }
  return testScalar(op, expected, actual);
}

function testScalar(op: Op, expected: Where['value'], actual: Scalar): boolean {
  const n = typeof actual == 'number' ? actual : NaN; // comparisons with NaN are false
  switch (op) {
    case 'equals':
      return actual === expected;
    case 'in':
      return (expected as Scalar[]).includes(actual);
    case 'contains':
      return typeof actual == 'string' && actual.includes(expected as string);
    case 'prefix':
      return typeof actual == 'string' && actual.startsWith(expected as string);
    case 'gt':
      return n > (expected as number);
    case 'gte':
      return n >= (expected as number);
    case 'lt':
      return n < (expected as number);
    case 'lte':
      return n <= (expected as number);
    default:
      return false;
  }
}

/** Adds each event to the count of every trait it matches; returns new counts. */
export function countTraits(rules: Rules, counts: TraitCounts, events: readonly WireEvent[]): TraitCounts {
  const next = Object.assign(emptyCounts(), counts);
  for (const event of events) {
    for (const trait of rules.traits) {
      if (matchesWhere(trait.where, event)) next[trait.id] = (next[trait.id] ?? 0) + 1;
    }
  }
  return next;
}

export function ruleHolds(rule: Rule, counts: TraitCounts): boolean {
  if ('trait' in rule) return (counts[rule.trait] ?? 0) >= rule.atLeast;
  if ('and' in rule) return rule.and.every((r) => ruleHolds(r, counts));
  if ('or' in rule) return rule.or.some((r) => ruleHolds(r, counts));
  return !ruleHolds(rule.not, counts);
}

/** Ids of every segment whose rule holds, in rules-file (priority) order. */
export function segmentsFor(rules: Rules, counts: TraitCounts): string[] {
  return rules.segments.filter((s) => ruleHolds(s.rule, counts)).map((s) => s.id);
}
