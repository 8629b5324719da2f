/**
 * POST /v1/rtc: wire protocol v1. The body is JSON whatever the Content-Type says (the SDK
 * labels it text/plain so the call is a CORS simple request); fastify validates it against the
 * schema; the handler copies the known fields, counts the new events and answers the segments.
 */
import { randomFillSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { UID, type Signals, type SignalValue, type WireEvent } from 'segtag/protocol';
import type { Decide } from '../decide';
import { httpError } from './errors';
import { rtcRequestSchema, rtcResponseSchema } from './rtc-schema';

export const RTC_PATH = '/v1/rtc';
/** Matches the fetch keepalive quota a browser allows for in-flight bodies. */
export const MAX_RTC_BODY_BYTES = 64 * 1024;

/** The request as the schema guarantees it (fields copied before use). */
interface RtcBody {
  uid?: string;
  events: (Omit<WireEvent, 'signals'> & { signals: Record<string, SignalValue> })[];
}

export function rtcRoutes(decide: Decide) {
  return async function (app: FastifyInstance) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        // Not the parser's message: it quotes the body, which may hold private (p_) signals.
        done(httpError(400, 'body is not valid JSON'));
      }
    });

    app.post<{ Body: RtcBody }>(
      RTC_PATH,
      { bodyLimit: MAX_RTC_BODY_BYTES, schema: { body: rtcRequestSchema, response: { 200: rtcResponseSchema } } },
      async (request) => {
        const { uid, events } = request.body;
        const decision = await decide(typeof uid == 'string' && UID.test(uid) ? uid : undefined, events.map(copyEvent));
        return {
          ...(decision.assigned && { uid: decision.uid }),
          segments: decision.segments,
          ttl: decision.rules.ttlDays,
          tid: newTid(),
          ack: decision.ack,
        };
      },
    );

    app.get(RTC_PATH, async (_request, reply) => {
      reply.header('allow', 'POST, OPTIONS');
      throw httpError(405, 'use POST');
    });
  };
}

/** 12 random bytes as base64url, drawn from a pool filled 512 at a time (one CSPRNG call, not one per answer). */
const TID_BYTES = 12;
const tidPool = Buffer.alloc(TID_BYTES * 512);
let tidAt = tidPool.length;
function newTid(): string {
  if (tidAt == tidPool.length) {
    randomFillSync(tidPool);
    tidAt = 0;
  }
  const start = tidAt;
  tidAt += TID_BYTES;
  return tidPool.toString('base64url', start, tidAt);
}

/** A fresh event of known fields; signals in a null-prototype object so any key is plain data. */
function copyEvent(e: RtcBody['events'][number]): WireEvent {
  const signals: Signals = Object.create(null);
  for (const [k, v] of Object.entries(e.signals)) signals[k] = Array.isArray(v) ? [...v] : v;
  const out: WireEvent = { id: e.id, type: e.type, ts: e.ts, url: e.url, signals };
  if (e.name !== undefined) out.name = e.name;
  return out;
}
