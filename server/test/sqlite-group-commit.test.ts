/**
 * The SQLite store's group commit: the updates asked for in one turn of the event loop share one
 * transaction, and each call resolves only after that transaction has committed. Also: a row
 * written in the profile format before version 2 is read and updated.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEvents } from '../src/profiles/apply';
import { DAY_MS, emptyProfile, type Profile } from '../src/profiles/profile';
import { compileRules } from '../src/rules/compile';
import { parseRules } from '../src/rules/parse';
import { openSqliteStore } from '../src/stores/sqlite';
import type { ProfileStore, ProfileWrite } from '../src/stores/types';

const T0 = Date.UTC(2030, 0, 10, 12);
const now = () => T0;
const write = (p: Profile | undefined, segment: string): ProfileWrite => ({
  profile: { ...(p ?? emptyProfile()), segments: [...(p?.segments ?? []), segment], lastSeen: T0 },
  expiresAt: T0 + DAY_MS,
  changes: { entered: [], exited: [] },
});

let dir: string;
let path: string;
let store: ProfileStore;
let commits: number[];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'segtag-group-'));
  path = join(dir, 'profiles.db');
  commits = [];
  store = await openSqliteStore(path, { now, onCommit: (n) => commits.push(n) });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite: group commit', () => {
  it('the updates of one turn share one transaction; each answers only once it is committed', async () => {
    const other = new Database(path, { readonly: true }); // another connection sees committed rows only
    const committedWhenAnswered: boolean[] = [];
    const calls = Array.from({ length: 20 }, (_, i) =>
      store
        .update(`visitor-${i % 15}`, (current) => ({ write: write(current, `s${i}`), result: i }))
        .then((result) => {
          committedWhenAnswered.push(!!other.prepare('SELECT 1 FROM profiles WHERE uid = ?').get(`visitor-${i % 15}`));
          return result;
        }),
    );
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(commits).toEqual([20]);
    expect(committedWhenAnswered).toEqual(Array(20).fill(true));
    // Two updates of one uid in a group run in order, the second on the first's write.
    expect((await store.get('visitor-0'))!.segments).toEqual(['s0', 's15']);
    other.close();

    // A later turn: a new transaction.
    await store.update('visitor-1', (current) => ({ write: write(current, 'later'), result: null }));
    expect(commits).toEqual([20, 1]);
  });

  it('a change that throws fails only its own call; the rest of the group commits', async () => {
    const results = await Promise.allSettled([
      store.update('a', (current) => ({ write: write(current, 'sa'), result: 'a' })),
      store.update('b', () => {
        throw new Error('a bug in a change');
      }),
      store.update('c', (current) => ({ write: write(current, 'sc'), result: 'c' })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(commits).toEqual([3]);
    expect((await store.get('a'))!.segments).toEqual(['sa']);
    expect(await store.get('b')).toBeUndefined();
  });

  it('updates asked for before close() still commit', async () => {
    const pending = store.update('late', (current) => ({ write: write(current, 's'), result: 'ok' }));
    await store.close();
    await expect(pending).resolves.toBe('ok');
    const reopened = await openSqliteStore(path, { now });
    expect((await reopened.get('late'))!.segments).toEqual(['s']);
    await reopened.close();
  });
});

describe('sqlite: the profile formats before version 3', () => {
  it('a stored version-1 row loads, de-duplicates its remembered ids and is rewritten as version 3 (keys, not ids)', async () => {
    const day = Math.floor(T0 / DAY_MS);
    const v1 = JSON.stringify({ v: 1, t: [['pv', [[day, 4]]]], s: [], l: T0 - 1000, e: [['old-id', T0 - 1000]] });
    const db = new Database(path);
    db.prepare('INSERT INTO profiles (uid, data, expires_at, v) VALUES (?, ?, ?, ?)').run(
      'visitor-v1',
      v1,
      T0 + DAY_MS,
      1,
    );
    db.close();
    const engine = compileRules(
      parseRules({
        ttlDays: 30,
        traits: [{ id: 'pv', where: { type: 'page' } }],
        segments: [{ id: 'pv5', rule: { trait: 'pv', atLeast: 5 } }],
      }),
    );
    const page = (id: string) => ({ id, type: 'page' as const, ts: 0, url: 'https://pub.example/', signals: {} });
    const applied = await store.update('visitor-v1', (current) => {
      const a = applyEvents(engine, current, [page('old-id'), page('new-id')], T0);
      return { write: { profile: a.profile, expiresAt: a.expiresAt, changes: a.changes }, result: a };
    });
    expect(applied).toMatchObject({ counted: 1, duplicates: 1, segments: ['pv5'] });
    const row = new Database(path, { readonly: true });
    const data = (row.prepare('SELECT data FROM profiles WHERE uid = ?').get('visitor-v1') as { data: string }).data;
    row.close();
    expect(JSON.parse(data)).toMatchObject({ v: 3, n: 2 });
    expect(data).not.toContain('old-id');
  });
});
