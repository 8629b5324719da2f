/**
 * Validates an untrusted call body (wire protocol v1) and copies only the known fields.
 * Any problem rejects the whole call, so nothing from a bad request is ever counted or stored.
 */
import type { Signals, SignalValue, WireEvent } from '../protocol/types';
import { UID } from '../protocol/patterns';

export const LIMITS = {
  events: 100,
  signalsPerEvent: 100,
  valuesPerSignal: 100,
  declaredIds: 20,
  keyChars: 64,
  nameChars: 128,
  valueChars: 1024,
  titleChars: 1024,
  urlChars: 8192,
} as const;

const SITE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Random per event (a UUID from the SDK); a little wider than UID in case of other encodings. */
const EVENT_ID = /^[A-Za-z0-9_.:+/=-]{1,128}$/;

export interface ValidRequest {
  site: string;
  /** The request's uid when it is valid; undefined means the server must assign one. */
  uid?: string;
  events: WireEvent[];
}

export type Validation = { ok: true; request: ValidRequest } | { ok: false; error: string };

class Invalid extends Error {}
type Obj = Record<string, unknown>;
const isObject = (x: unknown): x is Obj => !!x && typeof x == 'object' && !Array.isArray(x);
const fail = (message: string): never => {
  throw new Invalid(message);
};
/** Quotes client text in an error without echoing much of it. */
const quote = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

function string(x: unknown, at: string, max: number): string {
  if (typeof x != 'string') fail(`${at}: must be a string`);
  if ((x as string).length > max) fail(`${at}: too long (max ${max} characters)`);
  return x as string;
}

function optionalString(x: unknown, at: string, max: number): string | undefined {
  return x === undefined ? undefined : string(x, at, max);
}

export function validateRequest(body: unknown): Validation {
  try {
    return { ok: true, request: parseRequest(body) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}

function parseRequest(body: unknown): ValidRequest {
  if (!isObject(body)) fail('body must be a JSON object');
  const b = body as Obj;
  if (b.v !== 1) fail('v: must be 1');
  const site = string(b.site, 'site', 64);
  if (!SITE.test(site)) fail(`site: must match ${SITE}`);
  // A missing or malformed uid is not an error: the server assigns a new one (as Audience Manager does).
  const uid = typeof b.uid == 'string' && UID.test(b.uid) ? b.uid : undefined;
  // Declared ids are checked for shape but not used by this server, so they never reach a store or log.
  if (b.ids !== undefined) checkDeclaredIds(b.ids);

  if (!Array.isArray(b.events)) fail('events: must be an array');
  const events = b.events as unknown[];
  if (events.length > LIMITS.events) fail(`events: too many (max ${LIMITS.events})`);
  return { site, uid, events: events.map((e, i) => parseEvent(e, `events[${i}]`)) };
}

function checkDeclaredIds(ids: unknown) {
  if (!isObject(ids)) fail('ids: must be an object');
  const entries = Object.entries(ids as Obj);
  if (entries.length > LIMITS.declaredIds) fail(`ids: too many (max ${LIMITS.declaredIds})`);
  for (const [k, v] of entries) {
    if (!k || k.length > LIMITS.keyChars) fail(`ids: key ${quote(k)} must have 1-${LIMITS.keyChars} characters`);
    string(v, `ids.${k}`, LIMITS.valueChars);
  }
}

function parseEvent(e: unknown, at: string): WireEvent {
  if (!isObject(e)) fail(`${at}: must be an object`);
  const x = e as Obj;
  const id = string(x.id, `${at}.id`, 128);
  if (!EVENT_ID.test(id)) fail(`${at}.id: must match ${EVENT_ID}`);
  if (x.type !== 'page' && x.type !== 'track') fail(`${at}.type: must be "page" or "track"`);
  const name = optionalString(x.name, `${at}.name`, LIMITS.nameChars);
  if (x.type == 'track' && !name) fail(`${at}.name: a track event needs a name`);
  if (typeof x.ts != 'number' || !Number.isFinite(x.ts) || x.ts < 0) fail(`${at}.ts: must be a timestamp in ms`);

  const event: WireEvent = {
    id,
    type: x.type as WireEvent['type'],
    ts: x.ts as number,
    url: string(x.url, `${at}.url`, LIMITS.urlChars),
    signals: parseSignals(x.signals, `${at}.signals`),
  };
  if (name !== undefined) event.name = name;
  const ref = optionalString(x.ref, `${at}.ref`, LIMITS.urlChars);
  if (ref !== undefined) event.ref = ref;
  const title = optionalString(x.title, `${at}.title`, LIMITS.titleChars);
  if (title !== undefined) event.title = title;
  return event;
}

function parseSignals(s: unknown, at: string): Signals {
  if (!isObject(s)) fail(`${at}: must be an object`);
  const entries = Object.entries(s as Obj);
  if (entries.length > LIMITS.signalsPerEvent) fail(`${at}: too many (max ${LIMITS.signalsPerEvent})`);
  // Null prototype: a key like "__proto__" stays plain data.
  const out: Signals = Object.create(null);
  for (const [key, value] of entries) {
    if (!key || key.length > LIMITS.keyChars) fail(`${at}: key ${quote(key)} must have 1-${LIMITS.keyChars} characters`);
    out[key] = parseSignalValue(value, `${at}.${key}`);
  }
  return out;
}

function parseSignalValue(v: unknown, at: string): SignalValue {
  if (typeof v == 'boolean') return v;
  if (typeof v == 'number') return Number.isFinite(v) ? v : fail(`${at}: must be a finite number`);
  if (typeof v == 'string') return string(v, at, LIMITS.valueChars);
  if (!Array.isArray(v)) return fail(`${at}: must be a string, number, boolean or array of strings`);
  if (v.length > LIMITS.valuesPerSignal) fail(`${at}: too many values (max ${LIMITS.valuesPerSignal})`);
  return v.map((item, i) => string(item, `${at}[${i}]`, LIMITS.valueChars));
}
