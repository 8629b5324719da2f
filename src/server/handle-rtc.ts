/**
 * POST /v1/rtc: validate the call, count its new events toward traits, answer with the visitor's
 * segments. Signals are only matched here; the profile keeps trait counts, never signal values.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallResponse, WireEvent } from '../protocol/types';
import { countTraits, emptyCounts, segmentsFor } from './evaluate';
import { HttpError, readBody, sendJson } from './http-io';
import { KeyedLock } from './keyed-lock';
import type { ProfileStore } from './profile-store';
import type { Rules } from './rules';
import type { SeenEvents } from './seen-events';
import { validateRequest, type ValidRequest } from './validate-request';

/** Matches the fetch keepalive quota a browser allows for in-flight bodies. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface RtcResponse extends CallResponse {
  /** Ids of the request's events the server has processed, including ones seen before. */
  ack: string[];
}

export interface RtcDeps {
  rules: Rules;
  store: ProfileStore;
  seen: SeenEvents;
}

export function createRtcHandler({ rules, store, seen }: RtcDeps) {
  const lock = new KeyedLock();

  async function answer(request: ValidRequest): Promise<RtcResponse> {
    const uid = request.uid ?? randomUUID();
    const { segments, ack } = await lock.run(uid, async () => {
      const ack = new Set<string>();
      const fresh: WireEvent[] = [];
      for (const event of request.events) {
        if (ack.has(event.id)) continue; // the same id twice in one call counts once
        ack.add(event.id);
        if (!seen.has(uid, event.id)) fresh.push(event);
      }
      const previous = await store.get(uid);
      const counts = countTraits(rules, previous?.counts ?? emptyCounts(), fresh);
      const segments = segmentsFor(rules, counts);
      await store.put(uid, { counts, segments, lastSeen: Date.now() });
      // Marked only once stored: if the store fails, a retry still counts these events.
      for (const event of fresh) seen.add(uid, event.id);
      return { segments, ack: [...ack] };
    });
    return {
      ...(request.uid ? {} : { uid }),
      segments,
      ttl: rules.ttlDays,
      tid: randomBytes(12).toString('base64url'),
      ack,
    };
  }

  return async function handleRtc(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>) {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      return sendJson(res, e.status, { error: e.message }, { headers, close: true });
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      // Not the parser's message: it quotes the body, which may hold private (p_) signals.
      return sendJson(res, 400, { error: 'body is not valid JSON' }, { headers });
    }
    const valid = validateRequest(json);
    if (!valid.ok) return sendJson(res, 400, { error: valid.error }, { headers });
    sendJson(res, 200, await answer(valid.request), { headers });
  };
}
