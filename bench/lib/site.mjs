/**
 * Loopback HTTP servers for the browser parts: a publisher site (pages, the SDK and the peers'
 * files) and a fixed protocol-v1 decisioning answer. Bound to 127.0.0.1 only.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

export const FIXED_SEGMENTS = ['1001', '1004'];

/**
 * The fixed answer a decisioning server gives: two segments, and `ack` echoing the request's
 * event ids (as protocol v1 servers do). The same bytes whoever asks.
 */
export function rtcAnswer(body) {
  let ids = [];
  try {
    const events = JSON.parse(body).events;
    if (Array.isArray(events)) ids = events.map((e) => e?.id).filter((id) => typeof id == 'string');
  } catch {
    return undefined;
  }
  return JSON.stringify({ segments: FIXED_SEGMENTS, ttl: 30, tid: 'bench', ack: ids });
}

/** Writes an rtc answer (or a 400) with the CORS header a cross-origin page needs. */
export async function answerRtc(req, res, delayMs = 0) {
  const body = await readBody(req);
  if (req.method == 'OPTIONS') {
    res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type' });
    return res.end();
  }
  const answer = rtcAnswer(body);
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  res.writeHead(answer ? 200 : 400, {
    'content-type': 'application/json',
    'access-control-allow-origin': '*',
    'cache-control': 'no-store',
  });
  res.end(answer ?? '{"error":"bad json"}');
}

/**
 * A site: `files` maps a path to [file on disk, content type]; `pages` maps a path to HTML;
 * `routes` maps a path (or a path prefix ending in '*') to an async (req, res) handler.
 * Everything is served no-store, so every fresh page really fetches and compiles the scripts.
 */
export async function startSite({ files = {}, pages = {}, routes = {} } = {}) {
  const cache = new Map();
  const read = (file) => {
    if (!cache.has(file)) cache.set(file, readFileSync(file));
    return cache.get(file);
  };
  const prefixes = Object.keys(routes).filter((k) => k.endsWith('*'));
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      const route = routes[path] ?? routes[prefixes.find((p) => path.startsWith(p.slice(0, -1)))];
      if (route) return await route(req, res, path);
      if (files[path]) {
        const [file, type] = files[path];
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
        return res.end(read(file));
      }
      if (pages[path] != null) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return res.end(pages[path]);
      }
      res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  server.keepAliveTimeout = 5000;
  const { port, close } = await listen(server);
  return { port, close, pages, files, routes, readBody };
}

export { readBody };
