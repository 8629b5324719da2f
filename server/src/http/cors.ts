/**
 * CORS for the whole server (docs/protocol.md "CORS"), one allow-list (`--cors-origin`, `'*'` for
 * any page):
 * - A browser request (one with an `Origin` header) from an origin that is neither listed nor the
 *   server's own is answered `403 {"error":"origin not allowed"}` in the first hook, before its
 *   body is read, a profile counted or a cookie set. Requests without `Origin` (servers, `<script>`
 *   and `<img>` loads, top-level navigations) pass.
 * - `/event` answers like Audience Manager's DCS, a credentialed call (DIL sends
 *   `withCredentials`): the allowed `Origin` echoed with `Access-Control-Allow-Credentials: true`
 *   (with `'*'`, any origin is echoed).
 * - Everything else (the SDK's `/v1/rtc` is a non-credentialed simple request) gets
 *   `Access-Control-Allow-Origin: *` with `'*'`, else the allowed origin echoed; never
 *   `Access-Control-Allow-Credentials`.
 * - Every answer to a request with an `Origin` exposes `Retry-After` and varies on `Origin`;
 *   preflights are answered the same way (GET, POST, `content-type`, cached a day).
 */
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface CorsPolicy {
  /** `'*'`: any page; otherwise the allowed origins (`https://www.example.com`, scheme and host, no path). */
  origins: '*' | readonly string[];
}

/** `--cors-origin` values as the app takes them: `'*'` anywhere in the list allows every origin. */
export function corsPolicy(corsOrigin: string | readonly string[] | undefined): CorsPolicy {
  const list = corsOrigin === undefined ? ['*'] : typeof corsOrigin == 'string' ? [corsOrigin] : [...corsOrigin];
  return { origins: list.includes('*') ? '*' : list.map((o) => o.replace(/\/+$/, '')) };
}

/** A page on the server's own host (the demo page) calls it with an `Origin` too. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

export function isOriginAllowed(policy: CorsPolicy, origin: string, host: string | undefined): boolean {
  return policy.origins == '*' || policy.origins.includes(origin) || sameHost(origin, host);
}

/** Registers the 403 hook and @fastify/cors (call before the routes; `/event` adds CREDENTIALED_CORS). */
export function corsHandling(app: FastifyInstance, policy: CorsPolicy) {
  // Added to the root instance before the plugin's own onRequest hook: it runs first.
  // A callback, not `async`: no promise per call.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const origin = request.headers.origin;
    if (origin === undefined || isOriginAllowed(policy, origin, request.headers.host)) return done();
    // The body is never read: the connection is closed after the answer.
    reply.code(403).header('vary', 'Origin').header('connection', 'close').send({ error: 'origin not allowed' });
  });

  void app.register(cors, {
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type'],
    exposedHeaders: ['Retry-After'],
    maxAge: 86400,
    credentials: false,
    // Static options with an origin function, not a `delegator`: the plugin then prepares its
    // options once instead of on every request (a delegator cost about 12 µs of CPU per call,
    // a sixth of a call's; docs/performance.md). The 403 hook has let only allowed origins through.
    origin: (origin, done) => done(null, origin === undefined ? false : policy.origins == '*' ? '*' : origin),
  });
}

/**
 * The route config of a credentialed route (`/event`, and its preflight): the allowed `Origin`
 * echoed (never `*`) with `Access-Control-Allow-Credentials: true`. @fastify/cors merges it over
 * the options above for that route.
 */
export const CREDENTIALED_CORS: { cors: FastifyCorsOptions } = {
  cors: { origin: (origin, done) => done(null, origin ?? false), credentials: true },
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Per-route CORS options (@fastify/cors reads them). */
    cors?: FastifyCorsOptions;
  }
  interface FastifyRequest {
    /** Set by @fastify/cors when it answered a valid preflight in its hook. */
    corsPreflightEnabled?: boolean;
  }
}
