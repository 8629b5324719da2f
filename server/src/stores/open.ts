/**
 * Store specs as the CLI takes them: `memory`, `sqlite:PATH`, `redis://...` (or `rediss://`).
 * The drivers are loaded only when asked for: better-sqlite3 (a native addon) for `sqlite:`,
 * ioredis (an optional dependency) for `redis://`.
 */
import { resolve } from 'node:path';
import { createMemoryStore } from './memory';
import { openRedisStore, redactUrl } from './redis';
import { openSqliteStore } from './sqlite';
import type { ProfileStore, StoreOptions } from './types';

export type StoreSpec = { kind: 'memory' } | { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

/** Parses a spec; throws an Error saying what is accepted. Relative SQLite paths resolve from `cwd`. */
export function parseStoreSpec(spec: string, cwd = process.cwd()): StoreSpec {
  if (spec == 'memory') return { kind: 'memory' };
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (!path) throw new Error('--store sqlite:PATH needs a file path, e.g. sqlite:.data/segtag.db');
    return { kind: 'sqlite', path: path == ':memory:' ? path : resolve(cwd, path) };
  }
  if (/^rediss?:\/\//.test(spec)) {
    try {
      new URL(spec);
    } catch {
      throw new Error(`--store: not a Redis URL: ${spec.replace(/\/\/[^@/]*@/, '//***@')}`);
    }
    return { kind: 'redis', url: spec };
  }
  throw new Error(
    `--store: expected memory, sqlite:PATH or redis://HOST:PORT, got ${JSON.stringify(spec.slice(0, 80))}`,
  );
}

export async function openStore(spec: StoreSpec, options: StoreOptions = {}): Promise<ProfileStore> {
  switch (spec.kind) {
    case 'memory':
      return createMemoryStore(options);
    case 'sqlite':
      return openSqliteStore(spec.path, options);
    case 'redis':
      return openRedisStore(spec.url, options);
  }
}

/** A spec for logs: never a password. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind == 'memory') return 'memory';
  if (spec.kind == 'sqlite') return `sqlite:${spec.path}`;
  return redactUrl(spec.url);
}
