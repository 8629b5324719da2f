/**
 * Validates the `partners` block of a rules file: the server-to-server partners segments are
 * delivered to (docs/server-to-server.md). Every problem names the partner; the result copies
 * known fields only, with the defaults filled in.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { isObject } from 'segtag/protocol';
import { parseList, show, unknownKeys, type Obj } from './parse-list';
import type { BatchPartner, Partner, PartnerSegments, RealtimePartner } from './types';

/** The account limit Audience Manager documents; also keeps one server's timers bounded. */
export const MAX_PARTNERS = 100;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Headers the HTTP client owns: a rules file must not be able to break framing.
const RESERVED_HEADERS = ['content-length', 'content-type', 'host', 'transfer-encoding', 'connection'];

/**
 * `source` is the rules file's path: a batch `dir` given relative resolves from its directory.
 * `segmentIds` are the file's segments: a partner naming another one is a mistake.
 */
export function parsePartners(list: unknown, segmentIds: Set<string>, problems: string[], source?: string): Partner[] {
  if (list === undefined) return [];
  const parsePartner = (p: Obj, at: string, problems: string[]): Partner | undefined =>
    p.type == 'realtime'
      ? parseRealtime(p, at, segmentIds, problems)
      : p.type == 'batch'
        ? parseBatch(p, at, segmentIds, problems, source)
        : void problems.push(`${at}: type must be "realtime" or "batch", got ${show(p.type)}`);
  return parseList(list, 'partners', 'partner', parsePartner, problems, MAX_PARTNERS);
}

function num(
  o: Obj,
  key: string,
  at: string,
  problems: string[],
  def: number | undefined,
  min: number,
  max: number,
  whole = false,
) {
  const v = o[key] ?? def;
  if (typeof v == 'number' && Number.isFinite(v) && v >= min && v <= max && (!whole || Number.isInteger(v))) return v;
  problems.push(`${at}: ${key} must be a ${whole ? 'whole ' : ''}number in [${min}, ${max}], got ${show(o[key])}`);
  return def ?? min;
}

/** A partner's `segments`: `"all"`, or ids of segments the file defines. */
export function parsePartnerSegments(
  s: unknown,
  at: string,
  segmentIds: Set<string>,
  problems: string[],
): PartnerSegments {
  if (s === 'all') return 'all';
  if (!Array.isArray(s) || !s.length) {
    problems.push(`${at}: segments must be "all" or a non-empty array of segment ids`);
    return [];
  }
  for (const id of s)
    if (typeof id != 'string' || !segmentIds.has(id)) problems.push(`${at}: unknown segment ${show(id)}`);
  return [...new Set(s as string[])];
}

function parseRealtime(p: Obj, at: string, segmentIds: Set<string>, problems: string[]): RealtimePartner {
  unknownKeys(
    p,
    [
      'id',
      'type',
      'name',
      'description',
      'url',
      'intervalSeconds',
      'segments',
      'maxUsersPerMessage',
      'maxInFlight',
      'timeoutMs',
      'retries',
      'retryBaseMs',
      'headers',
    ],
    at,
    problems,
  );
  let url = '';
  try {
    const u = new URL(String(p.url));
    if (u.protocol != 'https:' && u.protocol != 'http:') throw new Error();
    url = u.toString();
  } catch {
    problems.push(`${at}: url must be an http(s) URL, got ${show(p.url)}`);
  }
  const headers: Record<string, string> = Object.create(null);
  if (p.headers !== undefined) {
    if (!isObject(p.headers)) problems.push(`${at}: headers must be an object of strings`);
    else
      for (const [k, v] of Object.entries(p.headers)) {
        if (!HEADER_NAME.test(k) || RESERVED_HEADERS.includes(k.toLowerCase()))
          problems.push(`${at}: header name ${show(k)} is not allowed`);
        else if (typeof v != 'string' || v.length > 4096 || /[\r\n\0]/.test(v))
          problems.push(`${at}: header ${show(k)} must be a one-line string`);
        else headers[k] = v;
      }
  }
  return {
    id: p.id as string,
    type: 'realtime',
    url,
    // At least a second: the partner sets the pace, but a tighter loop only burns CPU.
    intervalSeconds: num(p, 'intervalSeconds', at, problems, undefined, 1, 86_400),
    segments: parsePartnerSegments(p.segments, at, segmentIds, problems),
    maxUsersPerMessage: num(p, 'maxUsersPerMessage', at, problems, 10, 1, 1000, true),
    maxInFlight: num(p, 'maxInFlight', at, problems, 1, 1, 16, true),
    timeoutMs: num(p, 'timeoutMs', at, problems, 3000, 1, 60_000, true),
    retries: num(p, 'retries', at, problems, 3, 0, 20, true),
    retryBaseMs: num(p, 'retryBaseMs', at, problems, 1000, 1, 60_000, true),
    headers: { ...headers },
  };
}

function parseBatch(p: Obj, at: string, segmentIds: Set<string>, problems: string[], source?: string): BatchPartner {
  unknownKeys(
    p,
    ['id', 'type', 'name', 'description', 'intervalHours', 'dir', 'format', 'gzip', 'mode', 'segments'],
    at,
    problems,
  );
  let dir = '';
  if (typeof p.dir == 'string' && p.dir && !p.dir.includes('\0')) {
    dir = isAbsolute(p.dir) ? p.dir : resolve(source ? dirname(source) : process.cwd(), p.dir);
  } else problems.push(`${at}: dir must be a directory path`);
  const format = p.format ?? 'csv';
  if (format != 'csv' && format != 'ndjson')
    problems.push(`${at}: format must be "csv" or "ndjson", got ${show(p.format)}`);
  const mode = p.mode ?? 'full';
  if (mode != 'full' && mode != 'incremental')
    problems.push(`${at}: mode must be "full" or "incremental", got ${show(p.mode)}`);
  if (p.gzip !== undefined && typeof p.gzip != 'boolean') problems.push(`${at}: gzip must be true or false`);
  return {
    id: p.id as string,
    type: 'batch',
    // Fractional hours are allowed (tests, trials); partners usually take 24.
    intervalHours: num(p, 'intervalHours', at, problems, 24, 1 / 3600, 24 * 366),
    dir,
    format: format as 'csv' | 'ndjson',
    gzip: p.gzip === true,
    mode: mode as 'full' | 'incremental',
    segments: parsePartnerSegments(p.segments, at, segmentIds, problems),
  };
}

/** Whether a partner receives `segment`. */
export const wants = (segments: PartnerSegments, segment: string) => segments == 'all' || segments.includes(segment);
