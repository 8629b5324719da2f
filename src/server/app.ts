/**
 * The decisioning server: routes, CORS, request logging, lifecycle.
 *   POST /v1/rtc   real-time call (OPTIONS answers the CORS preflight)
 *   GET  /healthz  liveness
 *   GET  /         the demo publisher page; the SDK files it loads (see static.ts)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createRtcHandler } from './handle-rtc';
import { sendJson, sendText } from './http-io';
import { MemoryProfileStore, type ProfileStore } from './profile-store';
import { repoRoot } from './repo-root';
import { loadRules, parseRules, type Rules } from './rules';
import { SeenEvents } from './seen-events';
import { serveFile, staticFiles } from './static';

export const RTC_PATH = '/v1/rtc';

export interface AppOptions {
  /** A rules file path, or the parsed JSON of one. Validated once, here: a bad file throws RulesError. */
  rules: string | object;
  /** Allowed origin(s) for calls; `'*'` (default) allows any page, as the SDK sends no credentials. */
  corsOrigin?: string | string[];
  /** Where demo.html and node_modules are found. Default: the repository root. */
  rootDir?: string;
  /** The SDK build output. Default: `<rootDir>/dist`. */
  distDir?: string;
  /** Serve the demo page at `/`. Default true. */
  demo?: boolean;
  /** Receives one line per request (method, path without query, status, time). Default (or false): silent. */
  logger?: ((line: string) => void) | false;
  store?: ProfileStore;
  /** How many recent event ids to remember for de-duplication. */
  seenEventIds?: number;
}

export interface App {
  server: http.Server;
  rules: Rules;
  /** Port 0 picks a free port; resolves with the base URL, e.g. `http://127.0.0.1:8080`. */
  listen(port?: number, host?: string): Promise<{ url: string }>;
  /** Stops accepting connections; open ones get a short grace period. */
  close(): Promise<void>;
}

export function createApp(options: AppOptions): App {
  const rules = typeof options.rules == 'string' ? loadRules(options.rules) : parseRules(options.rules);
  const rootDir = resolve(options.rootDir ?? repoRoot());
  const files = staticFiles({
    rootDir,
    distDir: resolve(options.distDir ?? join(rootDir, 'dist')),
    demo: options.demo ?? true,
  });
  const handleRtc = createRtcHandler({
    rules,
    store: options.store ?? new MemoryProfileStore(),
    seen: new SeenEvents(options.seenEventIds),
  });
  const cors = corsHeaders(options.corsOrigin ?? '*');
  const log = options.logger || undefined;

  async function route(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    const method = req.method ?? 'GET';
    if (path == RTC_PATH) {
      const headers = cors(req.headers.origin);
      if (method == 'OPTIONS') {
        res.writeHead(204, {
          ...headers,
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'content-type',
          'access-control-max-age': '86400',
        });
        return res.end();
      }
      if (method == 'POST') return handleRtc(req, res, headers);
      return sendJson(res, 405, { error: 'use POST' }, { headers: { ...headers, allow: 'POST, OPTIONS' } });
    }
    const file = files.get(path);
    if (!file && path != '/healthz') return sendText(res, 404, 'not found\n');
    // Node itself leaves the body out of HEAD answers.
    if (method != 'GET' && method != 'HEAD') return sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    return file ? serveFile(res, file) : sendJson(res, 200, { ok: true });
  }

  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    // Matched as sent, before any decoding: `/..%2f` and friends can only miss.
    const path = (req.url ?? '/').split('?')[0];
    if (log) {
      res.once('close', () => {
        const ms = (performance.now() - started).toFixed(1);
        log(`${req.method} ${path.slice(0, 200)} ${res.statusCode} ${ms}ms`);
      });
    }
    try {
      await route(req, res, path);
    } catch (e) {
      log?.(`error: ${(e as Error)?.stack ?? e}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'internal error' });
    }
  });
  // Bounds on slow clients: a whole request must arrive within these.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  return {
    server,
    rules,
    listen(port = 8080, host = '127.0.0.1') {
      return new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { address, port: actual } = server.address() as AddressInfo;
          const shown = address.includes(':') ? `[${address}]` : address;
          resolveListen({ url: `http://${shown}:${actual}` });
        });
      });
    },
    close() {
      return new Promise((resolveClose) => {
        if (!server.listening) return resolveClose();
        server.close(() => resolveClose());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
    },
  };
}

/** CORS response headers for a request's Origin. With an allowlist, echo the origin when listed. */
function corsHeaders(allowed: string | string[]) {
  if (allowed === '*') return () => ({ 'access-control-allow-origin': '*' });
  const list = typeof allowed == 'string' ? [allowed] : allowed;
  return (origin: string | undefined): Record<string, string> =>
    origin && list.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
}
