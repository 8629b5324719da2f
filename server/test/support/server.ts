/** Helpers for server tests: calls in protocol v1, a log sink, an app per describe block. */
import { afterAll, beforeAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from '../../src/app';

/** The segtag-server package (server/) and the repository around it. */
export const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const REPO_DIR = join(SERVER_DIR, '..');
export const RULES = join(SERVER_DIR, 'examples/segments.json');

export type Json = Record<string, any>;
let seq = 0;
export const newId = () => `ev-${Date.now()}-${++seq}`;
export const newUid = () => `uid-${Date.now().toString(36)}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
export const pageEvent = (signals: Json = {}, id = newId()) => ({
  id,
  type: 'page',
  ts: Date.now(),
  url: 'https://pub.example/sports/a',
  title: 'A',
  signals,
});
export const trackEvent = (name: string, signals: Json = {}, id = newId()) => ({
  ...pageEvent(signals, id),
  type: 'track',
  name,
});
export const call = (uid: string | undefined, events: unknown[], extra: Json = {}) => ({
  v: 1,
  site: 'demo',
  uid,
  events,
  ...extra,
});

/** Collects JSON log lines. */
export function logSink() {
  const lines: string[] = [];
  return {
    lines,
    stream: { write: (line: string) => void lines.push(line) },
    get text() {
      return lines.join('');
    },
    parsed: () => lines.map((l) => JSON.parse(l) as Json),
  };
}

/** An app for the duration of a describe block (ready, not listening: use inject). */
export function withApp(options: Partial<AppOptions> = {}) {
  const ctx = { app: undefined as unknown as App };
  beforeAll(async () => {
    ctx.app = createApp({ rules: RULES, watchRulesMs: 0, ...options });
    await ctx.app.ready();
  });
  afterAll(() => ctx.app?.close());
  return ctx;
}

/** POST /v1/rtc (or `path`) as the SDK sends it: JSON labelled text/plain. */
export async function post(app: App, body: unknown, headers: Json = {}, path = '/v1/rtc') {
  const res = await app.fastify.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    payload: typeof body == 'string' ? body : JSON.stringify(body),
  });
  return { res, status: res.statusCode, json: res.json() as Json };
}

/**
 * One `/v1/rtc` call over real HTTP to a running server, for one visitor and event: the answer's
 * segments joined by commas. Throws on a network error or a status other than 200.
 */
export async function rtcSegmentsOverHttp(baseUrl: string, uid: string, event: unknown): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/rtc`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify(call(uid, [event])),
  });
  if (res.status != 200) throw new Error(`HTTP ${res.status}`);
  return ((await res.json()) as Json).segments.join(',');
}
