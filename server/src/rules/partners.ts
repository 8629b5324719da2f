/**
 * Validates the `destinations` block of a rules file (docs/server-to-server.md). Every problem
 * names the destination; the result copies known fields only, with the defaults filled in.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { SEGMENT_ID } from '../../protocol/patterns';
import type { BatchDestination, Destination, DestinationSegments, RealtimeDestination } from './types';

/** The account limit Audience Manager documents; also keeps one server's timers bounded. */
export const MAX_DESTINATIONS = 100;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Headers the HTTP client owns: a rules file must not be able to break framing.
const RESERVED_HEADERS = ['content-length', 'content-type', 'host', 'transfer-encoding', 'connection'];

type Obj = Record<string, unknown>;
const isObject = (x: unknown): x is Obj => !!x && typeof x == 'object' && !Array.isArray(x);
const show = (x: unknown) => JSON.stringify(x)?.slice(0, 80) ?? String(x);

/**
 * `source` is the rules file's path: a batch `dir` given relative resolves from its directory.
 * `segmentIds` are the file's segments: a destination naming another one is a mistake.
 */
export function parseDestinations(
  list: unknown,
  segmentIds: Set<string>,
  problems: string[],
  source?: string,
): Destination[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return problems.push('destinations: must be an array'), [];
  if (list.length > MAX_DESTINATIONS) problems.push(`destinations: at most ${MAX_DESTINATIONS}, got ${list.length}`);
  const out: Destination[] = [];
  const seen = new Set<string>();
  for (const [i, d] of list.entries()) {
    if (!isObject(d)) {
      problems.push(`destinations[${i}]: must be an object`);
      continue;
    }
    const idOk = typeof d.id == 'string' && SEGMENT_ID.test(d.id);
    const at = idOk ? `destination "${d.id}"` : `destinations[${i}]`;
    if (!idOk) problems.push(`${at}: id ${show(d.id)} must be a string matching ${SEGMENT_ID}`);
    else if (seen.has(d.id as string)) problems.push(`${at}: duplicate id`);
    else seen.add(d.id as string);
    const before = problems.length;
    const parsed =
      d.type == 'realtime'
        ? parseRealtime(d, at, segmentIds, problems)
        : d.type == 'batch'
          ? parseBatch(d, at, segmentIds, problems, source)
          : void problems.push(`${at}: type must be "realtime" or "batch", got ${show(d.type)}`);
    if (parsed && idOk && problems.length == before) out.push(parsed);
  }
  return out;
}

function unknownKeys(o: Obj, allowed: string[], at: string, problems: string[]) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${at}: unknown key ${show(k)}`);
}

function num(o: Obj, key: string, at: string, problems: string[], def: number | undefined, min: number, max: number, whole = false) {
  const v = o[key] ?? def;
  if (typeof v == 'number' && Number.isFinite(v) && v >= min && v <= max && (!whole || Number.isInteger(v))) return v;
  problems.push(`${at}: ${key} must be a ${whole ? 'whole ' : ''}number in [${min}, ${max}], got ${show(o[key])}`);
  return def ?? min;
}

function parseSegments(s: unknown, at: string, segmentIds: Set<string>, problems: string[]): DestinationSegments {
  if (s === 'all') return 'all';
  if (!Array.isArray(s) || !s.length) {
    problems.push(`${at}: segments must be "all" or a non-empty array of segment ids`);
    return [];
  }
  for (const id of s) if (typeof id != 'string' || !segmentIds.has(id)) problems.push(`${at}: unknown segment ${show(id)}`);
  return [...new Set(s as string[])];
}

function parseRealtime(d: Obj, at: string, segmentIds: Set<string>, problems: string[]): RealtimeDestination {
  unknownKeys(d, ['id', 'type', 'name', 'description', 'url', 'intervalSeconds', 'segments', 'maxUsersPerMessage', 'timeoutMs', 'retries', 'retryBaseMs', 'headers'], at, problems);
  let url = '';
  try {
    const u = new URL(String(d.url));
    if (u.protocol != 'https:' && u.protocol != 'http:') throw new Error();
    url = u.toString();
  } catch {
    problems.push(`${at}: url must be an http(s) URL, got ${show(d.url)}`);
  }
  const headers: Record<string, string> = Object.create(null);
  if (d.headers !== undefined) {
    if (!isObject(d.headers)) problems.push(`${at}: headers must be an object of strings`);
    else
      for (const [k, v] of Object.entries(d.headers)) {
        if (!HEADER_NAME.test(k) || RESERVED_HEADERS.includes(k.toLowerCase())) problems.push(`${at}: header name ${show(k)} is not allowed`);
        else if (typeof v != 'string' || v.length > 4096 || /[\r\n\0]/.test(v)) problems.push(`${at}: header ${show(k)} must be a one-line string`);
        else headers[k] = v;
      }
  }
  return {
    id: d.id as string,
    type: 'realtime',
    url,
    // At least a second: the partner sets the pace, but a tighter loop only burns CPU.
    intervalSeconds: num(d, 'intervalSeconds', at, problems, undefined, 1, 86_400),
    segments: parseSegments(d.segments, at, segmentIds, problems),
    maxUsersPerMessage: num(d, 'maxUsersPerMessage', at, problems, 10, 1, 1000, true),
    timeoutMs: num(d, 'timeoutMs', at, problems, 3000, 1, 60_000, true),
    retries: num(d, 'retries', at, problems, 3, 0, 20, true),
    retryBaseMs: num(d, 'retryBaseMs', at, problems, 1000, 1, 60_000, true),
    headers: { ...headers },
  };
}

function parseBatch(d: Obj, at: string, segmentIds: Set<string>, problems: string[], source?: string): BatchDestination {
  unknownKeys(d, ['id', 'type', 'name', 'description', 'intervalHours', 'dir', 'format', 'gzip', 'mode', 'segments'], at, problems);
  let dir = '';
  if (typeof d.dir == 'string' && d.dir && !d.dir.includes('\0')) {
    dir = isAbsolute(d.dir) ? d.dir : resolve(source ? dirname(source) : process.cwd(), d.dir);
  } else problems.push(`${at}: dir must be a directory path`);
  const format = d.format ?? 'csv';
  if (format != 'csv' && format != 'ndjson') problems.push(`${at}: format must be "csv" or "ndjson", got ${show(d.format)}`);
  const mode = d.mode ?? 'full';
  if (mode != 'full' && mode != 'incremental') problems.push(`${at}: mode must be "full" or "incremental", got ${show(d.mode)}`);
  if (d.gzip !== undefined && typeof d.gzip != 'boolean') problems.push(`${at}: gzip must be true or false`);
  return {
    id: d.id as string,
    type: 'batch',
    // Fractional hours are allowed (tests, trials); partners usually take 24.
    intervalHours: num(d, 'intervalHours', at, problems, 24, 1 / 3600, 24 * 366),
    dir,
    format: format as 'csv' | 'ndjson',
    gzip: d.gzip === true,
    mode: mode as 'full' | 'incremental',
    segments: parseSegments(d.segments, at, segmentIds, problems),
  };
}

/** Whether a destination receives `segment`. */
export const wants = (segments: DestinationSegments, segment: string) => segments == 'all' || segments.includes(segment);
