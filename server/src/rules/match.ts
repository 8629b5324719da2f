/**
 * Does one event meet a trait's `where`? Pure; the trait index (compile.ts) calls it only for
 * traits that could match, and it re-checks every condition.
 */
import type { SignalValue, WireEvent } from 'segtag/protocol';
import type { Op, Scalar, Where } from './types';

/**
 * True when the event meets every condition the trait's `where` gives. `path` is the event URL's
 * path, passed in when the caller has it already (parsing a URL per trait would be wasteful).
 */
export function matchesWhere(where: Where, event: WireEvent, path?: string): boolean {
  if (where.type && event.type != where.type) return false;
  if (where.event !== undefined && (event.type != 'track' || event.name != where.event)) return false;
  if (where.pathPrefix !== undefined && !(path ?? pathOf(event.url)).startsWith(where.pathPrefix)) return false;
  if (where.signal !== undefined) {
    const actual = Object.hasOwn(event.signals, where.signal) ? event.signals[where.signal] : undefined;
    return testSignal(where.op!, where.value, actual);
  }
  return true;
}

export function pathOf(url: string): string {
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
