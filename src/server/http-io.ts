/** Small request/response helpers shared by the routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the whole body; rejects with HttpError 413 as soon as it passes maxBytes, without buffering more. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, `body too large (max ${maxBytes} bytes)`);
    if (Number(req.headers['content-length']) > maxBytes) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) settle(() => reject(tooLarge()));
      else chunks.push(chunk);
    });
    req.on('end', () => settle(() => resolve(Buffer.concat(chunks, size))));
    req.on('error', (e) => settle(() => reject(e)));
    req.on('close', () => settle(() => reject(new HttpError(400, 'request aborted'))));
  });
}

const NO_SNIFF = { 'x-content-type-options': 'nosniff' };

/**
 * Sends a JSON answer. `close` ends the connection after the answer: used when the request body
 * was not read to its end (413), so the rest of an oversized upload is never consumed.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  { headers = {}, close = false }: { headers?: Record<string, string>; close?: boolean } = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...NO_SNIFF,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(close && { connection: 'close' }),
  });
  res.end(text);
  if (close) res.once('finish', () => res.req.destroy());
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    ...headers,
    ...NO_SNIFF,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
