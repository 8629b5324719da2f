/**
 * The few files the server hands out: the built SDK, js-cookie for an import-map demo, and the
 * demo page. Exact routes only (no directory is served), so no request can name another file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const JS = 'text/javascript; charset=utf-8';
const MAP = 'application/json; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

export interface StaticOptions {
  rootDir: string;
  distDir: string;
  demo: boolean;
}

export function staticFiles({ rootDir, distDir, demo }: StaticOptions): Map<string, { file: string; type: string }> {
  const files = new Map([
    ['/segtag.min.js', { file: join(distDir, 'segtag.min.js'), type: JS }],
    ['/segtag.min.js.map', { file: join(distDir, 'segtag.min.js.map'), type: MAP }],
    ['/segtag.mjs', { file: join(distDir, 'segtag.mjs'), type: JS }],
    ['/segtag.mjs.map', { file: join(distDir, 'segtag.mjs.map'), type: MAP }],
    ['/stub.js', { file: join(distDir, 'stub.js'), type: JS }],
    ['/node_modules/js-cookie/dist/js.cookie.mjs', { file: join(rootDir, 'node_modules/js-cookie/dist/js.cookie.mjs'), type: JS }],
  ]);
  if (demo) files.set('/', { file: join(rootDir, 'examples/demo.html'), type: HTML });
  return files;
}

/** GET (and HEAD) routes; files are read on every request (no-cache): a rebuild shows on the next reload. */
export function staticRoutes(options: StaticOptions) {
  return async function (app: FastifyInstance) {
    for (const [path, { file, type }] of staticFiles(options)) {
      app.get(path, async (_request, reply) => {
        let body: Buffer;
        try {
          body = await readFile(file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code != 'ENOENT') throw e;
          return reply.code(404).send({ error: 'not found: run `npm run build` to create the SDK files in dist/' });
        }
        return reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
      });
    }
  };
}
