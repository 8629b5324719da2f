/**
 * Part 5 — server throughput with autocannon on 127.0.0.1: segtag-server as the build's CLI
 * starts it (a child process, per-request logging off), against a bare node:http server that
 * answers the same bytes. Every case varies the visitor per request and sends fresh event ids.
 * Stores beyond memory are measured only when the CLI's --help lists them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from '../lib/load.mjs';
import { BENCH_DIR, ROOT, SERVER_CLI } from '../lib/paths.mjs';
import { freePort, memoryOf, startProcess } from '../lib/processes.mjs';
import { fmt, int, verdict } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';
import { generateRules, requestBody, uidOf } from '../lib/workload.mjs';
import { options } from '../lib/options.mjs';

const CONNECTIONS = 10;
const WARMUP_SECONDS = 2;
const VISITORS = 1000; // visitors the segment-count cases spread their calls over
const PROFILES = [1_000, 1_000_000];
const SEED_CHUNK = 25_000;
export const TARGETS = { vsBare: 0.5, p99Ms: 5, keep1000vs10: 0.7 };

/** What this build's CLI offers, read from its --help at run time. */
function cliFeatures() {
  const help = execFileSync(process.execPath, [SERVER_CLI, '--help'], { cwd: ROOT, encoding: 'utf8' });
  const store = /--store\b/.test(help);
  return {
    help,
    quiet: /--quiet\b/.test(help),
    store,
    sqlite: store && /sqlite/i.test(help),
    redis: store && /redis/i.test(help),
  };
}

/** The memory store's profile cap, when the build states one (informational). */
function memoryCap() {
  const m = /MAX_PROFILES\s*=\s*([\d_]+)/.exec(readFileSync(SERVER_CLI, 'utf8'));
  return m ? Number(m[1].replace(/_/g, '')) : undefined;
}

async function startRedis() {
  const port = await freePort();
  const p = await startProcess(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { ready: /Ready to accept connections/ },
  );
  return { ...p, url: `redis://127.0.0.1:${port}` };
}

export async function run() {
  if (!existsSync(SERVER_CLI)) {
    return { title: 'Server throughput', rows: [], table: 'not available: dist/server/cli.mjs was not built', notes: [] };
  }
  const cli = cliFeatures();
  const tmp = mkdtempSync(join(tmpdir(), 'segtag-bench-'));
  const rulesFile = (n) => {
    const f = join(tmp, `rules-${n}.json`);
    if (!existsSync(f)) writeFileSync(f, JSON.stringify(generateRules(n)));
    return f;
  };
  const running = new Set();
  let dbCount = 0;
  let probeSegments;

  /** Starts segtag-server with `n` generated segments on `store`; returns { url, pid, stop, extraPid }. */
  async function startSegtag(n, store) {
    let redis;
    const args = [SERVER_CLI, '--port', '0', '--host', '127.0.0.1', '--rules', rulesFile(n)];
    if (cli.quiet) args.push('--quiet');
    if (store == 'sqlite') args.push('--store', `sqlite:${join(tmp, `profiles-${++dbCount}.db`)}`);
    if (store == 'redis') {
      redis = await startRedis();
      running.add(redis);
      args.push('--store', redis.url);
    }
    if (store == 'memory' && cli.store) args.push('--store', 'memory');
    const p = await startProcess(process.execPath, args, { ready: /listening on (http:\/\/\S+)/, cwd: ROOT });
    running.add(p);
    return {
      url: p.match[1],
      pid: p.proc.pid,
      redisPid: redis?.proc.pid,
      async stop() {
        await p.stop();
        running.delete(p);
        if (redis) {
          await redis.stop();
          running.delete(redis);
        }
      },
    };
  }

  const memory = (s) => {
    const m = memoryOf(s.pid);
    const r = s.redisPid ? memoryOf(s.redisPid) : undefined;
    return { rssMiB: m.rssMiB, peakMiB: m.peakMiB, storeRssMiB: r?.rssMiB };
  };
  const visitors = (count) => () => uidOf(Math.floor(Math.random() * count));
  const measure = (server, n, uid, extra = {}) =>
    load(server.url, {
      seconds: options.seconds,
      connections: CONNECTIONS,
      warmupSeconds: WARMUP_SECONDS,
      body: () => requestBody(uid(), n),
      ...extra,
    });

  const rows = [];
  const row = (r) => (rows.push(r), r);
  const failRow = (r, e) => row({ ...r, failed: String(e?.message ?? e).split('\n')[0] });
  const stores = [
    { key: 'memory', label: 'memory', available: true },
    { key: 'sqlite', label: 'SQLite', available: cli.sqlite },
    { key: 'redis', label: 'Redis', available: cli.redis && existsSync('/usr/bin/redis-server') },
  ];
  const unavailable = (s) =>
    !cli.store ? 'not available in this build (no --store in the CLI --help)' : s.key == 'redis' && cli.redis ? 'skipped: /usr/bin/redis-server missing (apt-get install redis-server)' : `not available in this build (--help lists no ${s.label} store)`;

  try {
    // The bare server answers exactly what segtag answered to a probe (same status, headers, bytes).
    const probeServer = await startSegtag(100, 'memory');
    const probe = await fetch(`${probeServer.url}/v1/rtc`, { method: 'POST', body: requestBody(uidOf(0), 100) });
    const answer = {
      status: probe.status,
      headers: Object.fromEntries(
        [...probe.headers].filter(([k]) => !['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k)),
      ),
      body: await probe.text(),
    };
    await probeServer.stop();
    if (probe.status != 200) throw new Error(`segtag-server answered the probe with HTTP ${probe.status}: ${answer.body.slice(0, 200)}`);
    probeSegments = JSON.parse(answer.body).segments?.length;
    const answerFile = join(tmp, 'answer.json');
    writeFileSync(answerFile, JSON.stringify(answer));

    const bareRun = async () => {
      const bare = await startProcess(process.execPath, [join(BENCH_DIR, 'servers/bare-http.mjs'), answerFile], {
        ready: /listening on (http:\/\/\S+)/,
      });
      running.add(bare);
      try {
        const r = await measure({ url: bare.match[1] }, 100, visitors(VISITORS));
        return { ...r, ...memory({ pid: bare.proc.pid }) };
      } finally {
        await bare.stop();
        running.delete(bare);
      }
    };

    // The floor, measured before and after the main case so drift on a shared machine shows.
    process.stderr.write('  server: bare node:http\n');
    const bare1 = await bareRun();

    process.stderr.write('  server: memory store, 100 segments, max and half load\n');
    const main = await startSegtag(100, 'memory');
    let mainMax;
    try {
      mainMax = row({ case: 'max', store: 'memory', segments: 100, profiles: VISITORS, ...(await measure(main, 100, visitors(VISITORS))), ...memory(main) });
      const rate = Math.max(1, Math.round(mainMax.reqPerSec / 2));
      row({ case: 'half', rate, store: 'memory', segments: 100, profiles: VISITORS, ...(await measure(main, 100, visitors(VISITORS), { overallRate: rate })), ...memory(main) });
    } finally {
      await main.stop();
    }
    const bare2 = await bareRun();
    // The faster of the two floors: the harsher comparison for segtag when the machine drifts.
    const best = bare1.reqPerSec >= bare2.reqPerSec ? bare1 : bare2;
    rows.unshift({
      case: 'bare',
      ...best,
      bareRuns: [bare1.reqPerSec, bare2.reqPerSec],
      errors: bare1.errors + bare2.errors,
      non2xx: bare1.non2xx + bare2.non2xx,
    });

    for (const n of [10, 1000]) {
      process.stderr.write(`  server: memory store, ${n} segments\n`);
      try {
        const s = await startSegtag(n, 'memory');
        try {
          row({ case: 'max', store: 'memory', segments: n, profiles: VISITORS, ...(await measure(s, n, visitors(VISITORS))), ...memory(s) });
        } finally {
          await s.stop();
        }
      } catch (e) {
        failRow({ case: 'max', store: 'memory', segments: n }, e);
      }
    }

    for (const st of stores.filter((s) => s.key != 'memory')) {
      if (!st.available) {
        row({ case: 'max', store: st.label, segments: 100, skipped: unavailable(st) });
        continue;
      }
      process.stderr.write(`  server: ${st.label} store, 100 segments\n`);
      try {
        const s = await startSegtag(100, st.key);
        try {
          row({ case: 'max', store: st.label, segments: 100, profiles: VISITORS, ...(await measure(s, 100, visitors(VISITORS))), ...memory(s) });
        } finally {
          await s.stop();
        }
      } catch (e) {
        failRow({ case: 'max', store: st.label, segments: 100 }, e);
      }
    }

    // Stored profiles: seed distinct visitors through the API (bounded in time), then measure
    // calls spread over all of them.
    for (const st of stores) {
      if (!st.available) {
        for (const count of PROFILES) row({ case: 'profiles', store: st.label, segments: 100, profiles: count, skipped: unavailable(st) });
        continue;
      }
      let s;
      try {
        s = await startSegtag(100, st.key);
        let seeded = 0;
        const deadline = Date.now() + options.seedSeconds * 1000;
        for (const count of PROFILES) {
          process.stderr.write(`  server: ${st.label} store, seeding ${int(count)} profiles\n`);
          const seed = await seedProfiles(s.url, seeded, count, deadline);
          seeded = seed.seeded;
          if (seed.skipped) {
            row({
              case: 'profiles',
              store: st.label,
              segments: 100,
              profiles: count,
              skipped: `skipped: seeding would take ~${Math.ceil(seed.projectedSeconds / 60)} min at ${int(seed.rate)} calls/s (budget BENCH_SEED_SECONDS=${options.seedSeconds})`,
              seedRate: seed.rate,
            });
            break;
          }
          row({
            case: 'profiles',
            store: st.label,
            segments: 100,
            profiles: count,
            seedRate: seed.rate,
            seedErrors: seed.errors,
            ...(await measure(s, 100, visitors(seeded))),
            ...memory(s),
          });
        }
      } catch (e) {
        failRow({ case: 'profiles', store: st.label, segments: 100 }, e);
      } finally {
        await s?.stop();
      }
    }
  } finally {
    for (const p of running) await p.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return summarize(rows, cli, probeSegments);
}

/**
 * Creates profiles for visitors uidOf(from) .. uidOf(to - 1), one call each, at high concurrency,
 * in chunks; gives up (skipped) as soon as the measured rate says `deadline` cannot be met.
 */
async function seedProfiles(url, from, to, deadline) {
  let next = from;
  let errors = 0;
  const t0 = Date.now();
  while (next < to) {
    const amount = Math.min(SEED_CHUNK, to - next);
    const r = await load(url, { amount, connections: 32, pipelining: 4, body: () => requestBody(uidOf(next++), 100) });
    errors += r.errors + r.non2xx;
    const elapsed = (Date.now() - t0) / 1000;
    const rate = (next - from) / elapsed;
    const left = (to - next) / rate;
    if (next < to && Date.now() + left * 1000 > deadline) {
      return { seeded: next, skipped: true, rate, projectedSeconds: elapsed + left };
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  return { seeded: next, rate: (next - from) / Math.max(seconds, 1e-3), errors };
}

function summarize(rows, cli, probeSegments) {
  const bare = rows.find((r) => r.case == 'bare');
  const at = (store, n, kind = 'max') => rows.find((r) => r.case == kind && r.store == store && r.segments == n && !r.skipped && !r.failed);
  const main = at('memory', 100);
  const half = at('memory', 100, 'half');
  const s10 = at('memory', 10);
  const s1000 = at('memory', 1000);
  const clean = (r) => r && !r.errors && !r.non2xx;
  const targets = {
    halfOfBare: { met: clean(main) && bare ? main.reqPerSec >= TARGETS.vsBare * bare.reqPerSec : null, ratio: main && bare ? main.reqPerSec / bare.reqPerSec : undefined },
    p99AtHalfLoad: { met: clean(half) ? Math.max(half.p99, half.p99Autocannon) < TARGETS.p99Ms : null, p99: half?.p99, p99Autocannon: half?.p99Autocannon },
    keep1000vs10: { met: clean(s10) && clean(s1000) ? s1000.reqPerSec >= TARGETS.keep1000vs10 * s10.reqPerSec : null, ratio: s10 && s1000 ? s1000.reqPerSec / s10.reqPerSec : undefined },
  };
  const label = (r) =>
    r.case == 'bare'
      ? 'bare node:http, same answer bytes'
      : r.case == 'half'
        ? `segtag, at half its max (${int(r.rate)} req/s)`
        : r.case == 'profiles'
          ? `segtag, ${int(r.profiles)} stored profiles`
          : `segtag, ${int(r.segments)} segments`;
  const target = (r) => {
    if (r === main) return verdict(targets.halfOfBare.met, `>= ${TARGETS.vsBare * 100}% of bare`);
    if (r === half) return verdict(targets.p99AtHalfLoad.met, `p99 < ${TARGETS.p99Ms} ms`);
    if (r === s1000) return verdict(targets.keep1000vs10.met, `>= ${TARGETS.keep1000vs10 * 100}% of 10 segments: ${fmt((targets.keep1000vs10.ratio ?? NaN) * 100, 0)}%`);
    return '';
  };
  const table = markdownTable(
    ['case', 'store', 'req/s:', 'vs bare:', 'p50 ms:', 'p99 ms:', 'RSS MiB (peak):', 'errors:', 'target'],
    rows.map((r) => {
      const head = [label(r), r.case == 'bare' ? '-' : r.store];
      if (r.skipped || r.failed) return [...head, r.skipped ?? `failed: ${r.failed}`, '', '', '', '', '', ''];
      return [
        ...head,
        int(r.reqPerSec),
        bare && r.case != 'half' ? `${fmt(r.reqPerSec / bare.reqPerSec)}x` : '',
        fmt(r.p50),
        fmt(r.p99),
        `${fmt(r.rssMiB, 0)} (${fmt(r.peakMiB, 0)})${r.storeRssMiB ? ` + redis ${fmt(r.storeRssMiB, 0)}` : ''}`,
        int((r.errors ?? 0) + (r.non2xx ?? 0)),
        target(r),
      ];
    }),
  );
  const cap = memoryCap();
  const notes = [
    `${CONNECTIONS} connections, no pipelining, ${options.seconds} s per case after a ${WARMUP_SECONDS} s warm-up; ` +
      `each call is one page event with a fresh id for a visitor picked at random (${int(VISITORS)} visitors unless stated), ` +
      `its signals matching 3 of the generated traits (the probe call qualified for ${probeSegments ?? '?'} segments). autocannon runs in the bench process on the same machine as the server.`,
    `Bare node:http: ${bare ? bare.bareRuns.map((x) => int(x)).join(' and ') : '-'} req/s in the runs before and after the main case (the faster is shown and compared against); ` +
      'it reads each body but does not parse it: the floor of the HTTP stack, and with a fast server the load generator may be the limit.',
    half ? `Half load: autocannon overallRate ${int(half.rate)} req/s; autocannon's own p99 there (whole ms, corrected for coordinated omission): ${half.p99Autocannon} ms.` : '',
    cap && cap < 1_000_000 ? `This build's memory store keeps at most ${int(cap)} profiles: past that, the 1,000,000 case measures a full store evicting the oldest.` : '',
    `Stores offered by this build's CLI: ${cli.store ? (cli.help.match(/--store[^\n]*/)?.[0] ?? '--store') : 'memory only (no --store option)'}.`,
    ...rows.filter((r) => r.seedRate && !r.skipped).map((r) => `Seeding ${int(r.profiles)} profiles (${r.store}): ${int(r.seedRate)} calls/s${r.seedErrors ? `, ${r.seedErrors} errors` : ''}.`),
  ].filter(Boolean);
  return { title: 'Server throughput', rows, targets, table, notes };
}
