import type { CallRequest, CallResponse } from '../protocol/types';
import { parseDestinations } from '../protocol/parse-destinations';
import { parseResponse } from '../protocol/parse-response';
import type { SegmentFormat } from './segment-cookie';

/**
 * How a real-time call goes on the wire. The client takes one by injection, so a build
 * carries only the codecs it needs: the JSON codec of protocol v1 everywhere, the
 * Audience Manager (DCS) codec only with the dcs feature, destinations (pixels, cookie
 * destinations) only with the destinations feature (see core/features.ts).
 */
export interface Codec {
  /** The request body and its content type (a CORS simple type; default `text/plain;charset=UTF-8`). */
  _encode(request: CallRequest): EncodedRequest;
  /** A validated answer, or undefined when it is malformed (the client then changes nothing). */
  _decode(body: unknown, cookie: SegmentFormat & { name: string }): CallResponse | undefined;
  /** Events one call may carry, when the format has a limit (DCS: one); else the queue's own. */
  _maxEvents?: number;
}

export interface EncodedRequest {
  _body: string;
  _contentType?: string;
}

const encodeJson = (request: CallRequest): EncodedRequest => ({ _body: JSON.stringify(request) });

/** Protocol v1 without destinations: an answer's `pixels` and `cookies` are ignored. */
export const jsonCodec: Codec = { _encode: encodeJson, _decode: parseResponse };

/** Validates v1 answers including `pixels` and `cookies`. */
export function parseResponseWithDestinations(body: unknown) {
  const out = parseResponse(body);
  if (out) parseDestinations(body as Record<string, unknown>, out);
  return out;
}

/** Protocol v1 with destinations (the destinations feature). */
export const jsonCodecWithDestinations: Codec = { _encode: encodeJson, _decode: parseResponseWithDestinations };
