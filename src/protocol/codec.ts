import type { CallRequest } from './types';
import type { ParsedResponse } from './destinations';
import { parseResponse } from './parse-response';

/**
 * How a real-time call goes on the wire. The client takes one by injection, so a build
 * carries only the codecs it needs: the JSON codec of protocol v1 everywhere, the
 * Audience Manager (DCS) codec only in the npm build and `segtag-aam.min.js`.
 */
export interface Codec {
  /** The request body and its content type (a CORS simple type; default `text/plain;charset=UTF-8`). */
  encode(request: CallRequest): { body: string; contentType?: string };
  /** A validated answer, or undefined when it is malformed (the client then changes nothing). */
  decode(body: unknown, cookie: { name: string; key: string }): ParsedResponse | undefined;
}

export const jsonCodec: Codec = { encode: (request) => ({ body: JSON.stringify(request) }), decode: parseResponse };
