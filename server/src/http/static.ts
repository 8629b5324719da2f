/**
 * The few files the server hands out: the built SDK (the script tag, the stub, and the npm build's
 * ES modules with the modules they import, js-cookie's bundled part among them) and the demo page.
 * No directory is listed: fixed routes name their file, and an ES module is looked up by its
 * exact path inside the SDK's dist/ folder (an entry such as `destinations.mjs`, or a module the
 * entries import, `lib/core/client.mjs`), whose segments cannot leave it: no request can name
 * another file.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const JS = 'text/javascript; charset=utf-8';
const MAP = 'application/json; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const NOT_BUILT = 'not found: run `npm run build` to create the SDK files in dist/';
/**
 * The npm build's modules and source maps: `name.mjs`, `lib/dir/name.mjs`, `.map` of either. No
 * segment starts with a dot, so none is `.` or `..`.
 */
const MODULE_PATH = /^(?:lib\/(?:[\w-][\w.-]*\/)*)?[\w-][\w.-]*\.mjs(?:\.map)?$/;

export interface StaticOptions {
  /** The SDK's build output; undefined when the segtag package was not found. */
  distDir: string | undefined;
  /** The page served at `/`; undefined for none. */
  demoPage: string | undefined;
}

interface Served {
  file: string | undefined;
  type: string;
}

/** The fixed routes and the file each serves. */
export function staticFiles({ distDir, demoPage }: StaticOptions): Map<string, Served> {
  const dist = (name: string) => distDir && join(distDir, name);
  const files = new Map<string, Served>([
    ['/segtag.min.js', { file: dist('segtag.min.js'), type: JS }],
    ['/segtag.min.js.map', { file: dist('segtag.min.js.map'), type: MAP }],
    ['/segtag.mjs', { file: dist('segtag.mjs'), type: JS }],
    ['/segtag.mjs.map', { file: dist('segtag.mjs.map'), type: MAP }],
    ['/stub.js', { file: dist('stub.js'), type: JS }],
  ]);
  if (demoPage) files.set('/', { file: demoPage, type: HTML });
  return files;
}

/** `path` inside `dir`, or undefined when the path is not a module's or would leave `dir`. */
export function moduleFile(dir: string | undefined, path: string): string | undefined {
  if (!dir || !MODULE_PATH.test(path)) return;
  const file = resolve(dir, path);
  return file.startsWith(resolve(dir) + sep) ? file : undefined;
}

/** The file's bytes, read on every request (no-cache: a rebuild shows on the next reload); undefined when there is none. */
async function readIfExists(file: string | undefined): Promise<Buffer | undefined> {
  if (!file) return;
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code != 'ENOENT' && code != 'ENOTDIR' && code != 'EISDIR') throw e;
  }
}

const send = (reply: FastifyReply, type: string, body: Buffer) =>
  reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);

type ModuleRequest = FastifyRequest<{ Params: { name?: string; '*'?: string } }>;

/** GET (and HEAD) routes. */
export function staticRoutes(options: StaticOptions) {
  return async function (app: FastifyInstance) {
    for (const [path, { file, type }] of staticFiles(options)) {
      app.get(path, async (_request, reply) => {
        const body = await readIfExists(file);
        return body ? send(reply, type, body) : reply.code(404).send({ error: NOT_BUILT });
      });
    }
    // The npm build's other modules (the other entries, the modules they import under lib/) and
    // their maps.
    const module = async (request: ModuleRequest, reply: FastifyReply) => {
      const { name, '*': rest } = request.params;
      const path = name ?? 'lib/' + rest;
      const body = await readIfExists(moduleFile(options.distDir, path));
      return body ? send(reply, path.endsWith('.map') ? MAP : JS, body) : reply.code(404).send({ error: 'not found' });
    };
    app.get('/:name', module);
    app.get('/lib/*', module);
  };
}
