import type { DeclaredIds, Signals } from '../protocol/types';
import { isObject } from '../protocol/is-object';
import { check } from './fail';

/** Copies signals after checking every value's type, so later mutation by the page changes nothing. */
export function copySignals(signals: unknown): Signals {
  check(signals === undefined || isObject(signals), 'signals');
  const out: Signals = {};
  for (const k of Object.keys(signals || {})) {
    const v = (signals as Record<string, unknown>)[k];
    const ok =
      typeof v == 'string' ||
      typeof v == 'boolean' ||
      (typeof v == 'number' && isFinite(v)) ||
      (Array.isArray(v) && v.every((x) => typeof x == 'string'));
    check(ok, `signal "${k}"`);
    // An own "__proto__" key would replace the copy's prototype instead of adding a signal.
    if (k != '__proto__') out[k] = Array.isArray(v) ? v.slice() : v;
  }
  return out;
}

export function copyIds(ids: unknown): DeclaredIds {
  check(isObject(ids), 'identify() ids');
  const out: DeclaredIds = {};
  for (const k of Object.keys(ids)) {
    const v = ids[k];
    check(typeof v == 'string' && v, `id "${k}"`);
    if (k != '__proto__') out[k] = v;
  }
  return out;
}
