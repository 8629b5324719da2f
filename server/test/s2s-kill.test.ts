/**
 * `segtag-server` (the built dist/server/cli.mjs) as a real child process with the SQLite
 * store, killed with SIGKILL while changes wait in the outbox, messages are in flight and a
 * batch file is being written; then restarted. Nothing is lost, no partial file is ever visible
 * under a final name, and a de-duplicating partner gets every change exactly once.
 */
import { afterEach, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { applyEvents } from '../src/profiles/apply';
import { compileRules } from '../src/rules/compile';
import { parseRules } from '../src/rules/parse';
import { openSqliteStore } from '../src/stores/sqlite';
import { call, newUid, pageEvent, type Json } from './support/server';
import { startSink, waitFor } from './support/partner-sink';
import { exited, startCli as start } from './support/cli-process';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Starts the CLI, logging errors only; killed after the test if still running. */
async function startCli(args: string[]) {
  // No rate limit: every call comes from this one address.
  const server = await start(['--log-level', 'error', '--rate-limit', '0', ...args]);
  cleanup.push(
    () => server.child.exitCode === null && server.child.signalCode === null && server.child.kill('SIGKILL'),
  );
  return server;
}

/** Every manifest's file is complete: its size and checksum match, its rows are all there. */
function checkVisible(out: string) {
  const names = existsSync(out) ? readdirSync(out) : [];
  const manifests = names
    .filter((n) => n.endsWith('.manifest.json'))
    .map((n) => JSON.parse(readFileSync(join(out, n), 'utf8')));
  for (const m of manifests) {
    const bytes = readFileSync(join(out, m.file));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
    const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n');
    expect(lines.length - 1).toBe(m.rows);
  }
  // A final name is only ever a complete file: the data file a manifest names, or one renamed just before its manifest.
  for (const n of names.filter((n) => !n.startsWith('.') && !n.endsWith('.manifest.json'))) {
    const lines = gunzipSync(readFileSync(join(out, n)))
      .toString('utf8')
      .trimEnd()
      .split('\n');
    expect(lines[0]).toBe('uid,segments');
  }
  return { manifests, temporary: names.filter((n) => n.startsWith('.')) };
}

it('SIGKILL with changes in the outbox and a batch half written: nothing lost, no partial file, no duplicate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segtag-kill-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  // The partner answers slowly before the kill, so messages are in flight when it comes.
  const sink = await startSink(() => ({ delayMs: 300 }));
  cleanup.push(() => sink.close());
  const out = join(dir, 'out');
  const rulesJson = {
    traits: [
      { id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } },
      { id: 'pv', where: { type: 'page' } },
    ],
    segments: [
      { id: 'sports', rule: { trait: 'sports' } },
      { id: 'pv', rule: { trait: 'pv' } },
    ],
    partners: [
      {
        id: 'rt',
        type: 'realtime',
        url: sink.url,
        intervalSeconds: 1,
        segments: ['sports'],
        retries: 10,
        retryBaseMs: 50,
        timeoutMs: 2000,
      },
      {
        id: 'full',
        type: 'batch',
        dir: out,
        intervalHours: 1 / 3600,
        format: 'csv',
        gzip: true,
        mode: 'full',
        segments: 'all',
      },
    ],
  };
  const rulesPath = join(dir, 'rules.json');
  writeFileSync(rulesPath, JSON.stringify(rulesJson));
  const dbPath = join(dir, 'db.sqlite');

  // Enough profiles that writing the file takes a while.
  const PRELOADED = 30_000;
  const store = await openSqliteStore(dbPath);
  const engine = compileRules(parseRules(rulesJson));
  const now = Date.now();
  for (let i = 0; i < PRELOADED; i++) {
    await store.update(`pre-${String(i).padStart(6, '0')}-uid`, (current) => {
      const a = applyEvents(engine, current, [pageEvent({}) as never], now);
      return { write: { profile: a.profile, expiresAt: a.expiresAt, changes: a.changes }, result: null };
    });
  }
  await store.close();

  const args = ['--store', `sqlite:${dbPath}`, '--rules', rulesPath];
  const first = await startCli(args);
  const uids = Array.from({ length: 300 }, () => newUid());
  for (const uid of uids) {
    const res = await fetch(`${first.url}/v1/rtc`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(call(uid, [pageEvent({ c_section: 'sports' })])),
    });
    expect(((await res.json()) as Json).segments).toContain('sports');
  }
  // Kill while a batch file is being written (a temporary file exists) and a message is in flight.
  let sawTemporary = false;
  await waitFor(
    () => {
      sawTemporary = existsSync(out) && readdirSync(out).some((n) => n.startsWith('.segtag-') && n.endsWith('.tmp'));
      return sawTemporary && sink.received.length > 0;
    },
    20_000,
    'a batch file being written',
  );
  first.child.kill('SIGKILL');
  await exited(first.child);
  const deliveredBeforeKill = new Set(sink.accepted().flatMap((m) => m.body.users.map((u: any) => u.uid)));
  expect(deliveredBeforeKill.size).toBeLessThan(uids.length); // changes were still in the outbox
  expect(sawTemporary).toBe(true);
  const afterKill = checkVisible(out);

  sink.behave = () => ({});
  const second = await startCli(args);
  const delivered = () => new Set(sink.accepted().flatMap((m) => m.body.users.map((u: any) => u.uid)));
  await waitFor(() => delivered().size == uids.length, 30_000, 'every change at the partner');
  await waitFor(
    () => checkVisible(out).manifests.length > afterKill.manifests.length,
    20_000,
    'a batch file after the restart',
  );
  second.child.kill('SIGTERM');
  await exited(second.child);

  // Each change once across distinct message ids; a repeated id carries the same body.
  const perUid = new Map<string, string>();
  for (const m of sink.accepted()) {
    for (const u of m.body.users) {
      expect(perUid.get(u.uid), `${u.uid} in two messages`).toBeUndefined();
      perUid.set(u.uid, m.id);
      expect(u.segments).toEqual({ added: ['sports'], removed: [], current: ['sports'] });
    }
  }
  for (const r of sink.received) expect(r.body).toEqual(sink.accepted().find((m) => m.id == r.id)!.body);
  expect([...perUid.keys()].sort()).toEqual([...uids].sort());

  const { manifests, temporary } = checkVisible(out);
  expect(temporary).toEqual([]); // the killed run's temporary file was removed
  const last = manifests.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  expect(last.rows).toBe(PRELOADED + uids.length);
}, 120_000);
