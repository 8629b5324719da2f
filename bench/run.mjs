#!/usr/bin/env node
/**
 * `npm run bench`: builds if dist/ is missing, fetches the peers into bench/.cache/, runs the
 * parts in order, prints one markdown table per part and writes bench/results.json.
 *
 *   npm run bench                      all parts
 *   npm run bench -- --parts 1,3       only some parts (1 bytes, 2 main thread, 3 call overhead,
 *                                      4 ad-call readiness, 5 server)
 *   npm run bench -- --docs            also rewrite the generated tables in docs/performance.md
 * Environment: BENCH_SECONDS, BENCH_PAGES, BENCH_CALLS, BENCH_SEED_SECONDS (bench/lib/options.mjs),
 * BENCH_NOTE (a line shown above the tables, e.g. "development run on a busy machine").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser } from './lib/browser.mjs';
import { machine, machineLine } from './lib/machine.mjs';
import { options, shortened } from './lib/options.mjs';
import { BENCH_DIR, ROOT, SCRIPT_TAG, SERVER_CLI, STUB } from './lib/paths.mjs';
import { writeDocs } from './lib/docs.mjs';

const PARTS = {
  1: { name: 'bytes', file: './parts/1-bytes.mjs' },
  2: { name: 'mainThread', file: './parts/2-main-thread.mjs', browser: true },
  3: { name: 'callOverhead', file: './parts/3-call-overhead.mjs', browser: true },
  4: { name: 'readiness', file: './parts/4-readiness.mjs', browser: true },
  5: { name: 'server', file: './parts/5-server.mjs' },
};

const { values } = parseArgs({
  options: { parts: { type: 'string' }, docs: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: npm run bench -- [--parts 1,2,3,4,5] [--docs]   (see bench/run.mjs)');
  process.exit(0);
}
const selected = (values.parts ?? '1,2,3,4,5').split(',').map((s) => s.trim());
for (const p of selected) if (!PARTS[p]) throw new Error(`--parts: unknown part ${p} (1-5)`);

// The bench measures whatever the build produces now; build only when something is missing.
if (![SCRIPT_TAG, STUB, SERVER_CLI].every(existsSync)) {
  console.error('bench: dist/ is incomplete, running npm run build');
  try {
    // Build output goes to stderr: stdout carries only the tables.
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  } catch {
    // A server that does not build yet must not stop the browser parts; part 5 reports it.
    if (![SCRIPT_TAG, STUB].every(existsSync)) throw new Error('bench: the build did not produce dist/segtag.min.js');
  }
}

const started = new Date();
let browser;
let chromium;
if (selected.some((p) => PARTS[p].browser)) {
  browser = await launchBrowser();
  chromium = browser.version();
}
const results = {
  date: started.toISOString(),
  note: process.env.BENCH_NOTE || undefined,
  shortened: shortened(),
  options,
  machine: machine(chromium),
  parts: {},
};
console.log(`# segtag benchmark, ${started.toISOString()}\n\n${machineLine(results.machine)}\n`);
if (results.shortened.length) console.log(`Shortened run: ${results.shortened.join(', ')}\n`);

try {
  for (const p of selected) {
    const part = PARTS[p];
    const t0 = Date.now();
    process.stderr.write(`bench: part ${p} (${part.name})...\n`);
    const { run } = await import(part.file);
    let result;
    try {
      result = await run({ browser });
    } catch (e) {
      // One broken part (e.g. a server that does not start) must not hide the others' tables.
      process.exitCode = 1;
      console.error(e);
      result = {
        title: `${part.name}: failed`,
        table: `failed: ${String(e?.message ?? e).split('\n')[0]}`,
        error: String(e?.stack ?? e),
      };
    }
    result.seconds = Math.round((Date.now() - t0) / 1000);
    results.parts[part.name] = { part: Number(p), ...result };
    console.log(
      `## ${p}. ${result.title}\n\n${result.table}\n${result.notes?.length ? `\n${result.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`,
    );
  }
} finally {
  await browser?.close();
}
results.machine.loadAverageAtEnd = (await import('node:os')).loadavg().map((x) => +x.toFixed(2));
results.seconds = Math.round((Date.now() - started) / 1000);
writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.error(`bench: wrote bench/results.json (${results.seconds} s)`);
if (values.docs) {
  writeDocs(results);
  console.error('bench: rewrote the generated part of docs/performance.md');
}
