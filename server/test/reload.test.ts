/**
 * The rules file is reloaded when it changes, without dropping a call; a bad new file keeps the
 * rules in force and the log says why.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { call, logSink, newUid, pageEvent, post } from './support/server';

const dir = mkdtempSync(join(tmpdir(), 'segtag-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rulesWith = (segmentId: string) => ({
  traits: [{ id: 'sports', where: { signal: 'c_section', op: 'equals', value: 'sports' } }],
  segments: [{ id: segmentId, rule: { trait: 'sports' } }],
});
/** Writes as editors and deploy tools do: a new file renamed over the old one. */
function save(path: string, content: unknown) {
  const tmp = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, typeof content == 'string' ? content : JSON.stringify(content));
  renameSync(tmp, path);
}
async function until(check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('rules reload', () => {
  it('a changed file takes effect; a bad one is rejected with its problems and the old rules stay', async () => {
    const path = join(dir, 'rules.json');
    save(path, rulesWith('A'));
    const sink = logSink();
    const app = createApp({ rules: path, watchRulesMs: 30, logger: { level: 'info', stream: sink.stream } });
    await app.ready();
    try {
      const segmentsNow = async () =>
        (await post(app, call(newUid(), [pageEvent({ c_section: 'sports' })]))).json.segments;
      expect(await segmentsNow()).toEqual(['A']);

      save(path, rulesWith('B'));
      await until(async () => (await segmentsNow())[0] == 'B');
      expect(app.rules.segments.map((s) => s.id)).toEqual(['B']);
      expect(sink.parsed().some((l) => l.msg == 'rules reloaded: 1 traits, 1 segments')).toBe(true);

      save(path, { ...rulesWith('C'), segments: [{ id: 'C', rule: { trait: 'nope' } }] });
      await until(async () => sink.parsed().some((l) => l.msg?.startsWith('rules file rejected')));
      const rejected = sink.parsed().find((l) => l.msg?.startsWith('rules file rejected'))!;
      expect(rejected).toMatchObject({ level: 50, file: path, problems: ['segment "C": rule: unknown trait "nope"'] });
      expect(await segmentsNow()).toEqual(['B']);

      save(path, '{ not json');
      await until(async () => sink.parsed().filter((l) => l.msg?.startsWith('rules file rejected')).length >= 2);
      expect(await segmentsNow()).toEqual(['B']);

      rmSync(path);
      expect(app.reloadRules()).toMatchObject({
        ok: false,
        problems: [expect.stringContaining('cannot read the file')],
      });
      expect(await segmentsNow()).toEqual(['B']);

      const metrics = (await app.admin.inject('/metrics')).body;
      expect(metrics).toMatch(/^segtag_rules_reloads_total\{result="ok"\} 1$/m);
      expect(metrics).toMatch(/^segtag_rules_reloads_total\{result="error"\} [3-9]$/m);
    } finally {
      await app.close();
    }
  });

  it('calls keep being answered while the file changes many times', async () => {
    const path = join(dir, 'busy.json');
    save(path, rulesWith('S0'));
    const app = createApp({ rules: path, watchRulesMs: 10 });
    const { url } = await app.listen(0, '127.0.0.1');
    try {
      let writing = true;
      const writer = (async () => {
        for (let i = 1; writing && i < 200; i++) {
          save(path, i % 3 == 0 ? '{ broken' : rulesWith(`S${i}`));
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      const answers: { status: number; segments: string[] }[] = [];
      const worker = async () => {
        for (let i = 0; i < 40; i++) {
          const res = await fetch(`${url}/v1/rtc`, {
            method: 'POST',
            body: JSON.stringify(call(newUid(), [pageEvent({ c_section: 'sports' })])),
            signal: AbortSignal.timeout(5000),
          });
          answers.push({ status: res.status, segments: ((await res.json()) as { segments: string[] }).segments });
        }
      };
      await Promise.all([worker(), worker(), worker(), worker(), worker()]);
      writing = false;
      await writer;
      expect(answers).toHaveLength(200);
      expect(answers.every((a) => a.status == 200 && a.segments.length == 1 && /^S\d+$/.test(a.segments[0]))).toBe(
        true,
      );
      expect(new Set(answers.map((a) => a.segments[0])).size).toBeGreaterThan(1); // reloads happened meanwhile
    } finally {
      await app.close();
    }
  });
});
