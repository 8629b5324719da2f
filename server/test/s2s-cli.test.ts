/** `segtag-server s2s run|retry PARTNER`, in process, against a SQLite store the server would use. */
import { afterEach, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli';
import { parseS2sArgs } from '../src/cli/s2s';
import { UsageError } from '../src/cli/args';
import { EXAMPLE_RULES } from '../src/paths';
import { createApp } from '../src/app';
import { call, newUid, pageEvent, post } from './support/server';
import { startSink, waitFor } from './support/partner-sink';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
  for (const f of cleanup.splice(0).reverse()) await f();
});

it('parses its arguments', () => {
  expect(parseS2sArgs(['run', 'b1', '--store', 'memory', '--progress'], '/w')).toEqual({
    command: 'run',
    partner: 'b1',
    rules: EXAMPLE_RULES,
    store: 'memory',
    progress: true,
    help: false,
  });
  expect(parseS2sArgs(['run', 'b1', '--rules', 'r.json'], '/w').rules).toBe('/w/r.json');
  expect(() => parseS2sArgs(['send', 'x'])).toThrow(new UsageError('s2s: expected run or retry, got "send"'));
  expect(() => parseS2sArgs(['run'])).toThrow(new UsageError('s2s run: which partner? (its id in the rules file)'));
  expect(() => parseS2sArgs(['retry', 'a', 'b'])).toThrow(/unexpected argument "b"/);
});

it('run writes a batch file now with progress on stderr; retry resends dead letters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segtag-s2s-cli-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const sink = await startSink(() => ({ status: 503 }));
  cleanup.push(() => sink.close());
  const rules = {
    traits: [{ id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } }],
    segments: [{ id: 'sports', rule: { trait: 'sports' } }],
    partners: [
      { id: 'rt', type: 'realtime', url: sink.url, intervalSeconds: 1, segments: 'all', retries: 0 },
      { id: 'b1', type: 'batch', dir: 'out', segments: 'all' }, // relative to the rules file
    ],
  };
  const rulesPath = join(dir, 'rules.json');
  writeFileSync(rulesPath, JSON.stringify(rules));
  const store = `sqlite:${join(dir, 'db.sqlite')}`;

  // The server qualifies a visitor; its message to the failing partner becomes a dead letter.
  const app = createApp({ rules: rulesPath, store, watchRulesMs: 0, demo: false, s2sTickMs: 50 });
  await app.ready();
  const uid = newUid();
  await post(app, call(uid, [pageEvent({ c_section: 'sports' })]));
  await waitFor(async () => (await app.store!.outbox!.deadLetters('rt')).length == 1, 5000, 'a dead letter');
  await app.close();

  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await main(['s2s', 'run', 'b1', '--rules', rulesPath, '--store', store, '--progress']);
  expect(process.exitCode ?? 0).toBe(0);
  expect(log.mock.calls.flat().join('\n')).toMatch(
    /^b1: wrote b1-\S+\.csv \(1 rows, sha256 [0-9a-f]{64}\) and b1-\S+\.csv\.manifest\.json$/,
  );
  expect(stderr.mock.calls.flat().join('')).toMatch(/^b1: 1 rows \(\d+\.\d s\)\n$/);
  expect(readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.manifest.json'))).toHaveLength(1);

  sink.behave = () => ({});
  log.mockClear();
  await main(['s2s', 'retry', 'rt', '--rules', rulesPath, '--store', store]);
  expect(process.exitCode ?? 0).toBe(0);
  expect(log.mock.calls.flat()).toEqual(['rt: 1 dead letters delivered, 0 still failing']);
  expect(sink.accepted().map((m) => m.body.users[0].uid)).toEqual([uid]);
  expect(sink.accepted()[0].id).toBe(sink.received[0].id);

  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  await main(['s2s', 'run', 'nope', '--rules', rulesPath, '--store', store]);
  expect(process.exitCode).toBe(1);
  expect(err.mock.calls.flat().join('')).toBe('segtag-server s2s: no partner "nope" in the rules');
  expect(existsSync(join(dir, 'out'))).toBe(true);
});
