/**
 * JSON schemas of wire protocol v1 (docs/protocol.md), validated by fastify before the handler
 * runs: types, sizes and counts, and no unknown fields. The response schema lets fastify
 * serialize answers fast and only with these fields.
 */
import { EVENT_ID, SITE } from 'segtag/protocol';

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
  /** A longer uid is certainly not one of ours (UID is 8-64 characters); shorter bad ones are replaced. */
  uidChars: 128,
} as const;

const text = (maxLength: number) => ({ type: 'string', maxLength });
const keys = { minLength: 1, maxLength: LIMITS.keyChars };

const signalValue = {
  // Keywords apply by type: maxLength to strings, maxItems/items to arrays.
  type: ['string', 'number', 'boolean', 'array'],
  maxLength: LIMITS.valueChars,
  maxItems: LIMITS.valuesPerSignal,
  items: text(LIMITS.valueChars),
};

const event = {
  type: 'object',
  required: ['id', 'type', 'ts', 'url', 'signals'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: EVENT_ID.source },
    type: { enum: ['page', 'track'] },
    name: { type: 'string', minLength: 1, maxLength: LIMITS.nameChars },
    ts: { type: 'number', minimum: 0 },
    url: text(LIMITS.urlChars),
    ref: text(LIMITS.urlChars),
    title: text(LIMITS.titleChars),
    signals: {
      type: 'object',
      maxProperties: LIMITS.signalsPerEvent,
      propertyNames: keys,
      additionalProperties: signalValue,
    },
  },
  if: { properties: { type: { const: 'track' } } },
  then: { required: ['name'] },
};

export const rtcRequestSchema = {
  type: 'object',
  required: ['v', 'site', 'events'],
  additionalProperties: false,
  properties: {
    v: { const: 1 },
    site: { type: 'string', pattern: SITE.source },
    uid: text(LIMITS.uidChars),
    ids: {
      type: 'object',
      maxProperties: LIMITS.declaredIds,
      propertyNames: keys,
      additionalProperties: text(LIMITS.valueChars),
    },
    // The consent state the SDK may send along (TCF/GPP strings, GPC): bounded, never stored.
    consent: {
      type: 'object',
      maxProperties: 16,
      propertyNames: { maxLength: 32 },
      additionalProperties: {
        type: ['string', 'number', 'boolean', 'null', 'array'],
        maxLength: 8192,
        maxItems: 64,
        items: { type: ['string', 'number'], maxLength: 64 },
      },
    },
    events: { type: 'array', maxItems: LIMITS.events, items: event },
  },
};

export const rtcResponseSchema = {
  type: 'object',
  required: ['segments', 'ack'],
  properties: {
    uid: { type: 'string' },
    segments: { type: 'array', items: { type: 'string' } },
    ttl: { type: 'number' },
    tid: { type: 'string' },
    ack: { type: 'array', items: { type: 'string' } },
  },
};
