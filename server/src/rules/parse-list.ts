/**
 * What the rules file's blocks share when they are validated: a list of `{ id, ... }` items
 * (traits, segments, partners, URL destinations), unknown keys, and how a bad value is quoted in a
 * problem. Every problem names the item by its id when the id is usable.
 */
import { isObject, SEGMENT_ID } from 'segtag/protocol';

export type Obj = Record<string, unknown>;

/** A value as a problem quotes it: JSON, cut at 80 characters. */
export const show = (x: unknown) => JSON.stringify(x)?.slice(0, 80) ?? String(x);

/** Reports keys a block does not know: a typo must not silently widen or narrow a rule. */
export function unknownKeys(o: Obj, allowed: readonly string[], at: string, problems: string[]) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${at}: unknown key ${show(k)}`);
}

/**
 * Parses an array of `{ id, ... }` items (`key` in the file, `kind` in problems: `trait "t1"`);
 * ids must be unique segment-id-like strings. Items with a bad id, or that `parseItem` rejects
 * (undefined), are left out; with any problem the whole file is refused anyway, so the list only
 * needs to be right when there is none.
 */
export function parseList<T>(
  list: unknown,
  key: string,
  kind: string,
  parseItem: (o: Obj, at: string, problems: string[]) => T | undefined,
  problems: string[],
  max = Infinity,
): T[] {
  if (!Array.isArray(list)) {
    problems.push(`${key}: must be an array`);
    return [];
  }
  if (list.length > max) problems.push(`${key}: at most ${max}, got ${list.length}`);
  const out: T[] = [];
  const seen = new Set<string>();
  for (const [i, item] of list.entries()) {
    if (!isObject(item)) {
      problems.push(`${key}[${i}]: must be an object`);
      continue;
    }
    const id = item.id;
    const idOk = typeof id == 'string' && SEGMENT_ID.test(id);
    const at = idOk ? `${kind} "${id}"` : `${key}[${i}]`;
    if (!idOk) problems.push(`${at}: id ${show(id)} must be a string matching ${SEGMENT_ID}`);
    else if (seen.has(id)) problems.push(`${at}: duplicate id`);
    else seen.add(id);
    const parsed = parseItem(item, at, problems);
    if (parsed !== undefined && idOk) out.push(parsed);
  }
  return out;
}
