/**
 * Parses and validates a rules file (format: docs/rules.md). Validation reports every problem,
 * each naming the trait or segment. The result is a fresh copy of known fields only: nothing from
 * the file is evaluated as code.
 */
import { readFileSync } from 'node:fs';
import { isObject } from 'segtag/protocol';
import { parseList, show, unknownKeys, type Obj } from './parse-list';
import { parsePartners } from './partners';
import { parseUrlDestinations } from './url-destinations';
import {
  DEFAULT_TTL_DAYS,
  MAX_DAYS,
  OPS,
  type DcsConfig,
  type Op,
  type Rule,
  type Rules,
  type Scalar,
  type Segment,
  type Trait,
  type Where,
} from './types';

/** Keeps evaluation recursion shallow whatever the file says. */
const MAX_RULE_DEPTH = 16;
const MAX_STRING = 1024;
const MAX_AT_LEAST = 1_000_000;
/** A cookie name token (RFC 6265) that the SDK and Audience Manager-style tags accept. */
const COOKIE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const TARGETING_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,19}$/;
const DOMAIN = /^\.?[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$/;

export class RulesError extends Error {
  constructor(
    readonly problems: string[],
    source?: string,
  ) {
    super(`invalid rules${source ? ` in ${source}` : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RulesError';
  }
}

const isScalar = (x: unknown): x is Scalar =>
  (typeof x == 'string' && x.length <= MAX_STRING) || typeof x == 'boolean' || Number.isFinite(x);

/** Validates a parsed rules file; throws RulesError listing every problem. */
export function parseRules(input: unknown, source?: string): Rules {
  const problems: string[] = [];
  if (!isObject(input)) throw new RulesError(['the file must be a JSON object'], source);
  // `destinations` is the old name of `partners`: it gets a problem that says so, not "unknown key".
  unknownKeys(
    input,
    ['ttlDays', 'traits', 'segments', 'dcs', 'partners', 'urlDestinations', 'destinations', 'description'],
    'file',
    problems,
  );
  if (input.destinations !== undefined)
    problems.push('destinations: renamed to "partners" (the server-to-server partners); rename the key');

  let ttlDays = DEFAULT_TTL_DAYS;
  if (input.ttlDays !== undefined) {
    const t = input.ttlDays;
    if (typeof t == 'number' && t > 0 && t <= MAX_DAYS) ttlDays = t;
    else problems.push(`ttlDays: must be a number of days in (0, ${MAX_DAYS}], got ${show(t)}`);
  }

  const traits = parseList(input.traits, 'traits', 'trait', parseTrait, problems);
  const traitIds = new Set(traits.map((t) => t.id));
  const segments = parseList(
    input.segments,
    'segments',
    'segment',
    (o, at, p) => parseSegment(o, at, traitIds, p),
    problems,
  );
  const dcs = parseDcs(input.dcs, problems);
  const segmentIds = new Set(segments.map((s) => s.id));
  const partners = parsePartners(input.partners, segmentIds, problems, source);
  const urlDestinations = parseUrlDestinations(input.urlDestinations, segmentIds, problems);

  if (problems.length) throw new RulesError(problems, source);
  return { ttlDays, traits, segments, dcs, partners, urlDestinations };
}

function parseDcs(d: unknown, problems: string[]): DcsConfig {
  const out: DcsConfig = { cookieName: 'aam', key: 'seg', visitorCookie: 'demdex' };
  if (d === undefined) return out;
  if (!isObject(d)) return (problems.push('dcs: must be an object'), out);
  unknownKeys(d, ['cookieName', 'key', 'domain', 'region', 'visitorCookie'], 'dcs', problems);
  const { cookieName, key, domain, region, visitorCookie } = d;
  if (cookieName !== undefined) {
    if (typeof cookieName == 'string' && COOKIE_NAME.test(cookieName)) out.cookieName = cookieName;
    else problems.push(`dcs.cookieName: must match ${COOKIE_NAME}, got ${show(cookieName)}`);
  }
  if (key !== undefined) {
    if (typeof key == 'string' && TARGETING_KEY.test(key)) out.key = key;
    else problems.push(`dcs.key: must match ${TARGETING_KEY}, got ${show(key)}`);
  }
  if (domain !== undefined) {
    if (typeof domain == 'string' && domain.length <= 253 && DOMAIN.test(domain)) out.domain = domain;
    else problems.push(`dcs.domain: must be a domain name, got ${show(domain)}`);
  }
  if (region !== undefined) {
    if (Number.isSafeInteger(region) && (region as number) >= 0) out.region = region as number;
    else problems.push(`dcs.region: must be a whole number >= 0, got ${show(region)}`);
  }
  if (visitorCookie !== undefined) {
    if (typeof visitorCookie == 'string' && COOKIE_NAME.test(visitorCookie)) out.visitorCookie = visitorCookie;
    else problems.push(`dcs.visitorCookie: must match ${COOKIE_NAME}, got ${show(visitorCookie)}`);
  }
  return out;
}

/** Reads and validates a rules file (synchronously: it happens once, at startup). */
export function loadRules(path: string): Rules {
  let text: string;
  let json: unknown;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RulesError([`cannot read the file: ${(e as Error).message}`], path);
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RulesError([`not valid JSON: ${(e as Error).message}`], path);
  }
  return parseRules(json, path);
}

function parseName(o: Obj, at: string, problems: string[]): { name?: string } {
  if (o.name === undefined) return {};
  if (typeof o.name == 'string' && o.name.length <= MAX_STRING) return { name: o.name };
  problems.push(`${at}: name must be a string`);
  return {};
}

function parseTrait(o: Obj, at: string, problems: string[]): Trait | undefined {
  unknownKeys(o, ['id', 'name', 'description', 'where'], at, problems);
  const where = parseWhere(o.where, `${at}: where`, problems);
  return where && { id: o.id as string, ...parseName(o, at, problems), where };
}

function parseWhere(w: unknown, at: string, problems: string[]): Where | undefined {
  if (!isObject(w)) return void problems.push(`${at}: must be an object`);
  const before = problems.length;
  unknownKeys(w, ['type', 'event', 'pathPrefix', 'signal', 'op', 'value'], at, problems);
  const out: Where = {};

  if (w.type !== undefined) {
    if (w.type === 'page' || w.type === 'track') out.type = w.type;
    else problems.push(`${at}.type: must be "page" or "track", got ${show(w.type)}`);
  }
  if (w.event !== undefined) {
    if (typeof w.event == 'string' && w.event && w.event.length <= MAX_STRING) out.event = w.event;
    else problems.push(`${at}.event: must be a non-empty string`);
    if (w.type == 'page') problems.push(`${at}: "event" matches track events only, but type is "page"`);
  }
  if (w.pathPrefix !== undefined) {
    if (typeof w.pathPrefix == 'string' && w.pathPrefix.startsWith('/')) out.pathPrefix = w.pathPrefix;
    else problems.push(`${at}.pathPrefix: must be a string starting with "/"`);
  }
  if (w.signal !== undefined || w.op !== undefined || w.value !== undefined) {
    parseSignalTest(w, at, out, problems);
  }
  if (!Object.keys(w).length) problems.push(`${at}: needs at least one condition`);
  return problems.length == before ? out : undefined;
}

function parseSignalTest(w: Obj, at: string, out: Where, problems: string[]) {
  const { signal, op, value } = w;
  if (typeof signal != 'string' || !signal || signal.length > 64) {
    return problems.push(`${at}.signal: must be a signal name (1-64 characters) when op or value is given`);
  }
  if (!OPS.includes(op as Op)) {
    return problems.push(`${at}.op: unknown op ${show(op)} (expected one of ${OPS.join(', ')})`);
  }
  const bad = (expected: string) => problems.push(`${at}.value: op "${op}" needs ${expected}, got ${show(value)}`);
  switch (op as Op) {
    case 'exists':
      if (value !== undefined) return bad('no value');
      break;
    case 'in':
      if (!Array.isArray(value) || !value.length || !value.every(isScalar)) return bad('a non-empty array');
      break;
    case 'equals':
      if (!isScalar(value)) return bad('a string, number or boolean');
      break;
    case 'contains':
    case 'prefix':
      if (typeof value != 'string' || !value || value.length > MAX_STRING) return bad('a non-empty string');
      break;
    default: // gt, gte, lt, lte
      if (!Number.isFinite(value)) return bad('a number');
  }
  out.signal = signal;
  out.op = op as Op;
  if (value !== undefined) out.value = Array.isArray(value) ? [...value] : (value as Scalar);
}

function parseSegment(o: Obj, at: string, traitIds: Set<string>, problems: string[]): Segment | undefined {
  unknownKeys(o, ['id', 'name', 'description', 'rule'], at, problems);
  const rule = parseRule(o.rule, `${at}: rule`, traitIds, problems, 0);
  return rule && { id: o.id as string, ...parseName(o, at, problems), rule };
}

function parseRule(r: unknown, at: string, traitIds: Set<string>, problems: string[], depth: number): Rule | undefined {
  if (depth > MAX_RULE_DEPTH) return void problems.push(`${at}: nested deeper than ${MAX_RULE_DEPTH}`);
  if (!isObject(r)) return void problems.push(`${at}: must be an object`);
  const forms = ['trait', 'and', 'or', 'not'].filter((k) => Object.hasOwn(r, k));
  if (forms.length != 1) {
    return void problems.push(`${at}: needs exactly one of trait, and, or, not (got ${show(Object.keys(r))})`);
  }
  const form = forms[0];

  if (form == 'trait') {
    unknownKeys(r, ['trait', 'atLeast', 'withinDays'], at, problems);
    const { trait, atLeast = 1, withinDays } = r;
    if (typeof trait != 'string' || !traitIds.has(trait)) {
      return void problems.push(`${at}: unknown trait ${show(trait)}`);
    }
    if (!Number.isSafeInteger(atLeast) || (atLeast as number) < 1 || (atLeast as number) > MAX_AT_LEAST) {
      return void problems.push(`${at}.atLeast: must be a whole number in [1, ${MAX_AT_LEAST}], got ${show(atLeast)}`);
    }
    if (withinDays === undefined) return { trait, atLeast: atLeast as number };
    if (!Number.isSafeInteger(withinDays) || (withinDays as number) < 1 || (withinDays as number) > MAX_DAYS) {
      return void problems.push(
        `${at}.withinDays: must be a whole number of days in [1, ${MAX_DAYS}], got ${show(withinDays)}`,
      );
    }
    return { trait, atLeast: atLeast as number, withinDays: withinDays as number };
  }
  unknownKeys(r, [form], at, problems);
  if (form == 'not') {
    const inner = parseRule(r.not, `${at}.not`, traitIds, problems, depth + 1);
    return inner && { not: inner };
  }
  const list = r[form];
  if (!Array.isArray(list) || !list.length) return void problems.push(`${at}.${form}: must be a non-empty array`);
  const parts = list.map((x, i) => parseRule(x, `${at}.${form}[${i}]`, traitIds, problems, depth + 1));
  if (!parts.every((p): p is Rule => !!p)) return;
  return form == 'and' ? { and: parts } : { or: parts };
}
