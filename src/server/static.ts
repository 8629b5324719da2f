/**
 * The few files the server hands out: the built SDK, js-cookie for an import-map demo, and the
 * demo page. Exact paths only (matched before any decoding), so no request can name another file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { sendText } from './http-io';

export interface StaticFile {
  file: string;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';
const MAP = 'application/json; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

export function staticFiles({ rootDir, distDir, demo }: { rootDir: string; distDir: string; demo: boolean }) {
  const files = new Map<string, StaticFile>([
    ['/segtag.min.js', { file: join(distDir, 'segtag.min.js'), type: JS }],
    ['/segtag.min.js.map', { file: join(distDir, 'segtag.min.js.map'), type: MAP }],
    ['/segtag.mjs', { file: join(distDir, 'segtag.mjs'), type: JS }],
    ['/segtag.mjs.map', { file: join(distDir, 'segtag.mjs.map'), type: MAP }],
    ['/stub.js', { file: join(distDir, 'stub.js'), type: JS }],
    [
      '/node_modules/js-cookie/dist/js.cookie.mjs',
      { file: join(rootDir, 'node_modules/js-cookie/dist/js.cookie.mjs'), type: JS },
    ],
  ]);
  if (demo) files.set('/', { file: join(rootDir, 'examples/demo.html'), type: HTML });
  return files;
}

/** Reads the file on every request (no-cache): a rebuild shows up on the next reload. */
export async function serveFile(res: ServerResponse, { file, type }: StaticFile): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code != 'ENOENT') throw e;
    return sendText(res, 404, 'not found: run `npm run build` to create the SDK files in dist/\n');
  }
  res.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
