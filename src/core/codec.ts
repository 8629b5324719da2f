import type { CallRequest } from './types';
import { parseDestinations, type ParsedResponse } from './destinations';
import { parseResponse } from './parse-response';
import type { SegmentFormat } from '../core/segment-cookie';

/**
 * How a real-time call goes on the wire. The client takes one by injection, so a build
 * carries only the codecs it needs: the JSON codec of protocol v1 everywhere, the
 * Audience Manager (DCS) codec only in the npm build and `segtag-aam.min.js`, destinations
 * (pixels, cookie destinations) only where they are registered (see src/features.ts).
 */
export interface Codec {
  /** The request body and its content type (a CORS simple type; default `text/plain;charset=UTF-8`). */
  encode(request: CallRequest): { body: string; contentType?: string };
  /** A validated answer, or undefined when it is malformed (the client then changes nothing). */
  decode(body: unknown, cookie: SegmentFormat & { name: string }): ParsedResponse | undefined;
}

const encode = (request: CallRequest) => ({ body: JSON.stringify(request) });

/** Protocol v1 in the standard script tag: `pixels` and `cookies` are ignored. */
export const jsonCodec: Codec = { encode, decode: parseResponse };

/** Validates v1 answers including `pixels` and `cookies`. */
export function parseResponseWithDestinations(body: unknown) {
  const out = parseResponse(body);
  if (out) parseDestinations(body as Record<string, unknown>, out);
  return out;
}

/** Protocol v1 with destinations: the npm build, `segtag-sync.min.js` and `segtag-aam.min.js`. */
export const jsonCodecWithDestinations: Codec = { encode, decode: parseResponseWithDestinations };
