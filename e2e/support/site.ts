import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

const files: Record<string, [string, string]> = {
  '/segtag.min.js': ['dist/segtag.min.js', 'text/javascript'],
  '/segtag-aam.min.js': ['dist/segtag-aam.min.js', 'text/javascript'],
  '/segtag-sync.min.js': ['dist/segtag-sync.min.js', 'text/javascript'],
};

/** The npm build's ES modules (`/segtag.mjs`, `/destinations.mjs`, `/lib/core/client.mjs`...), from dist/. */
const npmModule = (path: string): [string, string] | undefined =>
  /^\/[\w-]+(\/[\w-]+)*\.mjs$/.test(path) ? ['dist' + path, 'text/javascript'] : undefined;

/** The stub, exactly as the README tells publishers to paste it. */
export const STUB = `<script>${readFileSync('src/stub.js', 'utf8').trim()}</script>`;

/**
 * A publisher's site on loopback: serves the built SDK and HTML pages that tests
 * register, and optional extra routes (a slow or broken decisioning server).
 */
export async function startSite() {
  const pages = new Map<string, string>();
  const routes = new Map<string, Handler>();
  const server = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    let body = '';
    for await (const chunk of req) body += chunk;
    const route = routes.get(path);
    if (route) return route(req, body, res);
    const file = files[path] || npmModule(path);
    const page = pages.get(path);
    if (file) {
      res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' });
      res.end(readFileSync(file[0]));
    } else if (page != null) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    /** Registers `html` at `path`; returns the page's URL on 127.0.0.1. */
    page(path: string, html: string) {
      pages.set(path, html);
      return `http://127.0.0.1:${port}${path}`;
    },
    route(path: string, handler: Handler) {
      routes.set(path, handler);
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // Keep-alive and deliberately hung requests would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** Fails the running test on any uncaught error in the page: segtag must never throw into it. */
export function failOnPageErrors(page: Page) {
  page.on('pageerror', (e) => {
    throw new Error('page error: ' + e.message);
  });
}

/** A CORS-enabled JSON answer, as a decisioning server on another origin sends it. */
export function answer(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
  res.end(body);
}
