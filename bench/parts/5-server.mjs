/**
 * Part 5 — the server on 127.0.0.1: segtag-server as the build's CLI starts it (a child process,
 * per-request logging off) against a bare node:http server that answers the same bytes, loaded by
 * autocannon running in a child process of its own (bench/lib/load.mjs). Every call sends a fresh
 * event id.
 *
 * The compared cases (bare; memory store with 100, 10 and 1,000 segments; SQLite; Redis; a new
 * visitor on every call; visitors with 500 remembered event ids) run side by side: all servers
 * are started, warmed up, then loaded in short slices round-robin until each had its
 * BENCH_SECONDS, so noise from a shared machine lands on every case alike and the ratios hold.
 * Around each slice the server's CPU time (utime + stime, /proc/<pid>/stat) gives its CPU per
 * request; for Redis, redis-server's own too. Issue 15's targets are checked from those figures.
 * Then p99 at half the memory server's own maximum, and a store holding 1,000,000 profiles.
 * Stores beyond memory are measured only when the CLI's --help lists them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoadGenerator, summarizeRuns } from '../lib/load.mjs';
import { BENCH_DIR, ROOT, SERVER_CLI } from '../lib/paths.mjs';
import { cpuSecondsOf, freePort, loadAverage, memoryOf, startProcess } from '../lib/processes.mjs';
import { fmt, int, median, rotated, verdict } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';
import { generateRules, requestBody, uidOf } from '../lib/workload.mjs';
import { FULL, options } from '../lib/options.mjs';

const CONNECTIONS = 10;
const WARMUP_SECONDS = 2;
const ROUNDS = 5;
const VISITORS = 1000; // visitors the side-by-side cases spread their calls over
/** Visitors seeded with REMEMBERED event ids each for the heavy-visitor case. */
const HEAVY_VISITORS = 200;
const REMEMBERED = 500;
const EVENTS_PER_SEED_CALL = 100; // the protocol's most events per call
const PROFILES = 1_000_000;
const SEED_CHUNK = 50_000;

/** Issue 15's server targets. */
export const TARGETS = {
  /** CPU per request at most this many times bare node:http's, per store. */
  cpuVsBare: { memory: 2.0, redis: 2.5, sqlite: 3.0 },
  /** req/s on the memory store at least this share of bare's. */
  reqPerSecVsBare: 0.5,
  /** p99 below this at half the memory server's own maximum. */
  p99Ms: 5,
  /** 1,000 segments: CPU per request at most this many times 10 segments'. */
  cpu1000vs10: 1.15,
  /** A visitor with 500 remembered event ids: CPU per request at most this many times a new visitor's. */
  cpuHeavyVsNew: 1.1,
};

const STORE_LABELS = { memory: 'memory', sqlite: 'SQLite', redis: 'Redis' };

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

const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

export async function run() {
  if (!existsSync(SERVER_CLI)) {
    return {
      title: 'Server throughput and CPU per request',
      rows: [],
      table: 'not available: server/dist/cli.mjs was not built',
      notes: [],
    };
  }
  const loadAtStart = loadAverage();
  process.stderr.write(`  server: load average at start ${loadAtStart.join(' / ')}\n`);
  const cli = cliFeatures();
  const tmp = mkdtempSync(join(tmpdir(), 'segtag-bench-'));
  const rulesFile = (n) => {
    const f = join(tmp, `rules-${n}.json`);
    if (!existsSync(f)) writeFileSync(f, JSON.stringify(generateRules(n)));
    return f;
  };
  const running = new Set();
  const track = (p) => (running.add(p), p);
  const untrack = async (p) => {
    await p.stop();
    running.delete(p);
  };
  let dbCount = 0;
  let probeSegments;
  let generator;

  /** Starts segtag-server with `n` generated segments on `store`: { url, pid, storePid, stop }. */
  async function startSegtag(n, store) {
    let redis;
    // No rate limit (the load generator is one IP) and a free admin port (several servers run at once).
    const args = [
      SERVER_CLI,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--rate-limit',
      '0',
      '--admin-port',
      '0',
      '--rules',
      rulesFile(n),
    ];
    if (cli.quiet) args.push('--quiet');
    if (store == 'sqlite') args.push('--store', `sqlite:${join(tmp, `profiles-${++dbCount}.db`)}`);
    if (store == 'redis') {
      redis = track(await startRedis());
      args.push('--store', redis.url);
    }
    if (store == 'memory' && cli.store) args.push('--store', 'memory');
    let p;
    try {
      p = track(await startProcess(process.execPath, args, { ready: /listening on (http:\/\/\S+)/, cwd: ROOT }));
    } catch (e) {
      if (redis) await untrack(redis);
      throw e;
    }
    return {
      url: p.match[1],
      pid: p.proc.pid,
      storePid: redis?.proc.pid,
      async stop() {
        await untrack(p);
        if (redis) await untrack(redis);
      },
    };
  }

  const memory = (s) => {
    const m = memoryOf(s.pid);
    const r = s.storePid ? memoryOf(s.storePid) : undefined;
    return { rssMiB: m.rssMiB, peakMiB: m.peakMiB, storeRssMiB: r?.rssMiB };
  };
  /** CPU seconds of the server and of its store process (redis-server), now. */
  const cpuNow = (s) => ({ server: cpuSecondsOf(s.pid), store: s.storePid ? cpuSecondsOf(s.storePid) : NaN });
  /** One load run with the server's (and store's) CPU time around it: CPU µs per 2xx answer. */
  async function measured(s, opts) {
    const before = cpuNow(s);
    const r = await generator.hit(s.url, opts);
    const after = cpuNow(s);
    const per = (k) => ((after[k] - before[k]) * 1e6) / r.ok;
    return { ...r, cpuUs: per('server'), storeCpuUs: per('store') };
  }

  const available = {
    memory: true,
    sqlite: cli.sqlite,
    redis: cli.redis && existsSync('/usr/bin/redis-server'),
  };
  const unavailable = (key) =>
    !cli.store
      ? 'not available in this build (no --store in the CLI --help)'
      : key == 'redis' && cli.redis
        ? 'skipped: /usr/bin/redis-server missing (apt-get install redis-server)'
        : `not available in this build (--help lists no ${STORE_LABELS[key]} store)`;

  const rows = [];
  const row = (r) => (rows.push(r), r);
  let heavySeed;

  try {
    generator = await startLoadGenerator();

    // The bare server answers exactly what segtag answered to a probe (same status, headers, bytes).
    const probeServer = await startSegtag(100, 'memory');
    const probe = await fetch(`${probeServer.url}/v1/rtc`, { method: 'POST', body: requestBody(uidOf(0), 100) });
    const answer = {
      status: probe.status,
      headers: Object.fromEntries(
        [...probe.headers].filter(
          ([k]) => !['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k),
        ),
      ),
      body: await probe.text(),
    };
    await probeServer.stop();
    if (probe.status != 200)
      throw new Error(`segtag-server answered the probe with HTTP ${probe.status}: ${answer.body.slice(0, 200)}`);
    probeSegments = JSON.parse(answer.body).segments?.length;
    const answerFile = join(tmp, 'answer.json');
    writeFileSync(answerFile, JSON.stringify(answer));

    // Side by side: every compared server up at once, loaded in rotating slices.
    const spread = { random: VISITORS };
    const cases = [
      {
        id: 'bare',
        case: 'bare',
        segments: 100,
        visitors: spread,
        start: async () => {
          const p = track(
            await startProcess(process.execPath, [join(BENCH_DIR, 'servers/bare-http.mjs'), answerFile], {
              ready: /listening on (http:\/\/\S+)/,
            }),
          );
          return { url: p.match[1], pid: p.proc.pid, stop: () => untrack(p) };
        },
      },
      { id: 'memory', case: 'max', store: 'memory', segments: 100, visitors: spread },
      { id: 'memory-10', case: 'max', store: 'memory', segments: 10, visitors: spread },
      { id: 'memory-1000', case: 'max', store: 'memory', segments: 1000, visitors: spread },
      { id: 'sqlite', case: 'max', store: 'sqlite', segments: 100, visitors: spread },
      { id: 'redis', case: 'max', store: 'redis', segments: 100, visitors: spread },
      { id: 'new', case: 'new', store: 'memory', segments: 100, visitors: 'fresh' },
      {
        id: 'heavy',
        case: 'heavy',
        store: 'memory',
        segments: 100,
        visitors: { random: HEAVY_VISITORS, prefix: 'h' },
        // REMEMBERED distinct event ids for each heavy visitor, EVENTS_PER_SEED_CALL per call, every call answered.
        seed: {
          calls: (HEAVY_VISITORS * REMEMBERED) / EVENTS_PER_SEED_CALL,
          body: {
            segments: 100,
            events: EVENTS_PER_SEED_CALL,
            visitors: { from: 0, to: HEAVY_VISITORS, prefix: 'h' },
          },
        },
      },
    ];
    for (const c of cases) if (c.store && !available[c.store]) c.skipped = unavailable(c.store);

    const live = [];
    for (const c of cases) {
      if (c.skipped) continue;
      try {
        c.server = c.start ? await c.start() : await startSegtag(c.segments, c.store);
        live.push(c);
      } catch (e) {
        c.failed = firstLine(e);
      }
    }
    const heavy = cases.find((c) => c.id == 'heavy');
    if (heavy.server) {
      process.stderr.write(
        `  server: seeding ${HEAVY_VISITORS} visitors with ${REMEMBERED} event ids each (${heavy.seed.calls} calls)\n`,
      );
      heavySeed = await generator.seed(heavy.server.url, { ...heavy.seed, concurrency: CONNECTIONS });
      if (heavySeed.ok != heavy.seed.calls) {
        heavy.failed = `seeding: ${heavySeed.ok} of ${heavy.seed.calls} calls answered 2xx`;
        live.splice(live.indexOf(heavy), 1);
        await heavy.server.stop();
      }
    }
    const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(options.seconds)));
    const slice = options.seconds / rounds;
    process.stderr.write(
      `  server: ${live.length} servers side by side, warm-up ${WARMUP_SECONDS} s each, then ${rounds} rounds of ${fmt(slice, 1)} s each\n`,
    );
    for (const c of live) {
      c.body = { segments: c.segments, visitors: c.visitors };
      c.warmupCalls = (
        await generator.hit(c.server.url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS, body: c.body })
      ).ok;
      c.runs = [];
      c.latencies = [];
    }
    for (let r = 0; r < rounds; r++) {
      for (const c of rotated(live, r)) {
        c.runs.push(
          await measured(c.server, { seconds: slice, connections: CONNECTIONS, body: c.body, latencies: c.latencies }),
        );
      }
    }
    for (const c of live) {
      Object.assign(c, summarizeRuns(c.runs, c.latencies), memory(c.server), {
        // Median over the slices: a slice that a neighbour's burst hit does not move it.
        cpuUs: median(c.runs.map((r) => r.cpuUs)),
        storeCpuUs: c.server.storePid ? median(c.runs.map((r) => r.storeCpuUs)) : undefined,
        driverCpuShare: c.runs.reduce((s, r) => s + r.driverCpuSeconds, 0) / c.runs.reduce((s, r) => s + r.duration, 0),
        slices: c.runs.length,
      });
    }

    // p99 at half the 100-segment memory server's own maximum, on the same (warm) server.
    const main = cases.find((c) => c.id == 'memory');
    let half;
    if (main.server && main.reqPerSec > 0) {
      const rate = Math.max(1, Math.round(main.reqPerSec / 2));
      process.stderr.write(`  server: memory store at ${int(rate)} req/s for ${options.seconds} s\n`);
      const latencies = [];
      const r = await measured(main.server, {
        seconds: options.seconds,
        connections: CONNECTIONS,
        overallRate: rate,
        body: main.body,
        latencies,
      });
      main.halfCalls = r.ok;
      half = {
        id: 'half',
        case: 'half',
        rate,
        store: 'memory',
        segments: 100,
        profiles: VISITORS,
        ...summarizeRuns([r], latencies),
        cpuUs: r.cpuUs,
        ...memory(main.server),
      };
    }
    for (const c of live) await c.server.stop();
    for (const c of cases) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the row leaves these out
      const { server, runs, latencies, body, start, seed, ...kept } = c;
      row({ ...kept, profiles: c.case == 'max' ? VISITORS : c.case == 'heavy' ? HEAVY_VISITORS : undefined });
      if (c === main && half) row(half);
    }

    // Stored profiles: seed distinct visitors through the API (bounded in time), then measure
    // calls spread over all of them (alone, not side by side).
    for (const key of ['memory', 'sqlite', 'redis']) {
      const base = { id: `profiles-${key}`, case: 'profiles', store: key, segments: 100, profiles: PROFILES };
      if (!available[key]) {
        row({ ...base, skipped: unavailable(key) });
        continue;
      }
      let s;
      try {
        s = await startSegtag(100, key);
        process.stderr.write(`  server: ${STORE_LABELS[key]} store, seeding ${int(PROFILES)} profiles\n`);
        const seed = await seedProfiles(generator, s.url, PROFILES, Date.now() + options.seedSeconds * 1000);
        if (seed.skipped) {
          row({
            ...base,
            skipped: `skipped: seeding would take ~${Math.ceil(seed.projectedSeconds / 60)} min at ${int(seed.rate)} calls/s (budget BENCH_SEED_SECONDS=${options.seedSeconds})`,
            seedRate: seed.rate,
          });
          continue;
        }
        const body = { segments: 100, visitors: { random: PROFILES } };
        await generator.hit(s.url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS, body });
        const latencies = [];
        const r = await measured(s, { seconds: options.seconds, connections: CONNECTIONS, body, latencies });
        row({
          ...base,
          seedRate: seed.rate,
          seedErrors: seed.errors,
          ...summarizeRuns([r], latencies),
          cpuUs: r.cpuUs,
          storeCpuUs: s.storePid ? r.storeCpuUs : undefined,
          ...memory(s),
        });
      } catch (e) {
        row({ ...base, failed: firstLine(e) });
      } finally {
        await s?.stop();
      }
    }
  } finally {
    for (const p of running) await p.stop();
    await generator?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  const loadAtEnd = loadAverage();
  process.stderr.write(`  server: load average at end ${loadAtEnd.join(' / ')}\n`);
  return summarize(rows, { cli, probeSegments, heavySeed, loadAtStart, loadAtEnd });
}

/**
 * Creates profiles for visitors uidOf(0) .. uidOf(count - 1), one call each, at high concurrency,
 * in chunks; gives up (skipped) as soon as the measured rate says `deadline` cannot be met.
 */
async function seedProfiles(generator, url, count, deadline) {
  let next = 0;
  let errors = 0;
  const t0 = Date.now();
  while (next < count) {
    const amount = Math.min(SEED_CHUNK, count - next);
    // No pipelining: autocannon's `amount` mode can drop pipelined requests at the end of a run.
    const r = await generator.hit(url, {
      amount,
      connections: 64,
      body: { segments: 100, visitors: { from: next, to: next + amount } },
    });
    next += amount;
    errors += r.errors + r.non2xx;
    const elapsed = (Date.now() - t0) / 1000;
    const rate = next / elapsed;
    const left = (count - next) / rate;
    if (next < count && Date.now() + left * 1000 > deadline) {
      return { seeded: next, skipped: true, rate, projectedSeconds: elapsed + left };
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  return { seeded: next, rate: next / Math.max(seconds, 1e-3), errors };
}

function summarize(rows, { cli, probeSegments, heavySeed, loadAtStart, loadAtEnd }) {
  const ok = (r) => r && !r.skipped && !r.failed;
  const clean = (r) => ok(r) && !r.errors && !r.non2xx && Number.isFinite(r.cpuUs);
  const byId = (id) => rows.find((r) => r.id == id && ok(r));
  const bare = byId('bare');
  const main = byId('memory');
  const half = byId('half');
  const s10 = byId('memory-10');
  const s1000 = byId('memory-1000');
  const sqlite = byId('sqlite');
  const redis = byId('redis');
  const fresh = byId('new');
  const heavy = byId('heavy');

  /** A target: `value` (a ratio or ms) against `limit`, met when on the right side and both runs were clean. */
  const check = (runs, value, limit, atMost = true) => ({
    value,
    limit,
    met: runs.every(clean) && Number.isFinite(value) ? (atMost ? value <= limit : value >= limit) : null,
  });
  const cpuRatio = (a, b) => (a && b ? a.cpuUs / b.cpuUs : NaN);
  const halfP99 = half ? Math.max(half.p99, half.p99Autocannon) : NaN;
  const targets = {
    cpuMemoryVsBare: check([main, bare], cpuRatio(main, bare), TARGETS.cpuVsBare.memory),
    cpuRedisVsBare: check([redis, bare], cpuRatio(redis, bare), TARGETS.cpuVsBare.redis),
    cpuSqliteVsBare: check([sqlite, bare], cpuRatio(sqlite, bare), TARGETS.cpuVsBare.sqlite),
    reqPerSecMemoryVsBare: check(
      [main, bare],
      main && bare ? main.reqPerSec / bare.reqPerSec : NaN,
      TARGETS.reqPerSecVsBare,
      false,
    ),
    p99AtHalfLoad: { ...check([half], halfP99, TARGETS.p99Ms), p99: half?.p99, p99Autocannon: half?.p99Autocannon },
    cpu1000vs10: check([s1000, s10], cpuRatio(s1000, s10), TARGETS.cpu1000vs10),
    cpuHeavyVsNew: check([heavy, fresh], cpuRatio(heavy, fresh), TARGETS.cpuHeavyVsNew),
  };
  // p99 < 5 ms is strict.
  if (targets.p99AtHalfLoad.met) targets.p99AtHalfLoad.met = halfP99 < TARGETS.p99Ms;
  if (redis) targets.cpuRedisVsBare.redisServerCpuUs = redis.storeCpuUs;

  const label = (r) =>
    ({
      bare: 'bare node:http, same answer bytes',
      half: `segtag, 100 segments, at half its max (${int(r.rate)} req/s)`,
      profiles: `segtag, 100 segments, ${int(r.profiles)} stored profiles (alone)`,
      new: 'segtag, 100 segments, a new visitor every call',
      heavy: `segtag, 100 segments, visitors with ${REMEMBERED} remembered event ids (${int(r.profiles)})`,
    })[r.case] ?? `segtag, ${int(r.segments)} segments`;
  const sideBySide = (r) => ['bare', 'max', 'new', 'heavy'].includes(r.case);
  const blank = ['', '', '', '', '', '', '', ''];
  const tableRows = [];
  for (const r of rows) {
    const head = [label(r), r.case == 'bare' ? '-' : STORE_LABELS[r.store]];
    if (!ok(r)) {
      tableRows.push([...head, r.skipped ?? `failed: ${r.failed}`, ...blank.slice(1)]);
      continue;
    }
    tableRows.push([
      ...head,
      int(r.reqPerSec),
      bare && sideBySide(r) ? `${fmt(r.reqPerSec / bare.reqPerSec)}x` : '',
      fmt(r.p50),
      fmt(r.p99),
      int(r.cpuUs),
      bare && sideBySide(r) ? `${fmt(r.cpuUs / bare.cpuUs)}x` : '',
      `${fmt(r.rssMiB, 0)} (${fmt(r.peakMiB, 0)})${r.storeRssMiB ? ` + redis ${fmt(r.storeRssMiB, 0)}` : ''}`,
      int((r.errors ?? 0) + (r.non2xx ?? 0)),
    ]);
    if (r.store == 'redis' && Number.isFinite(r.storeCpuUs)) {
      tableRows.push([
        `redis-server's own, during the row above`,
        'Redis',
        '',
        '',
        '',
        '',
        int(r.storeCpuUs),
        bare && sideBySide(r) ? `${fmt(r.storeCpuUs / bare.cpuUs)}x` : '',
        '',
        '',
      ]);
    }
  }
  const table = markdownTable(
    [
      'case',
      'store',
      'req/s:',
      'vs bare:',
      'p50 ms:',
      'p99 ms:',
      'CPU µs/req:',
      'CPU vs bare:',
      'RSS MiB (peak):',
      'errors:',
    ],
    tableRows,
  );

  const x = (v) => (Number.isFinite(v) ? `${fmt(v)}x` : '-');
  const us = (r) => (r ? `${int(r.cpuUs)} µs` : '-');
  const targetRows = [
    [
      `CPU per request, memory store (100 segments) <= ${TARGETS.cpuVsBare.memory}x bare`,
      `${x(targets.cpuMemoryVsBare.value)} (${us(main)} vs ${us(bare)})`,
      targets.cpuMemoryVsBare,
    ],
    [
      `CPU per request, Redis <= ${TARGETS.cpuVsBare.redis}x bare, plus redis-server's own (shown, not counted)`,
      `${x(targets.cpuRedisVsBare.value)} (${us(redis)} vs ${us(bare)}; redis-server ${redis ? `${int(redis.storeCpuUs)} µs` : '-'})`,
      targets.cpuRedisVsBare,
    ],
    [
      `CPU per request, SQLite (the default) <= ${TARGETS.cpuVsBare.sqlite}x bare`,
      `${x(targets.cpuSqliteVsBare.value)} (${us(sqlite)} vs ${us(bare)})`,
      targets.cpuSqliteVsBare,
    ],
    [
      `req/s, memory store >= ${TARGETS.reqPerSecVsBare}x bare`,
      `${x(targets.reqPerSecMemoryVsBare.value)} (${int(main?.reqPerSec)} vs ${int(bare?.reqPerSec)})`,
      targets.reqPerSecMemoryVsBare,
    ],
    [
      `p99 at half the memory server's own maximum < ${TARGETS.p99Ms} ms`,
      half ? `${fmt(half.p99)} ms (autocannon ${half.p99Autocannon} ms) at ${int(half.rate)} req/s` : '-',
      targets.p99AtHalfLoad,
    ],
    [
      `CPU per request, 1,000 segments <= ${TARGETS.cpu1000vs10}x 10 segments (memory)`,
      `${x(targets.cpu1000vs10.value)} (${us(s1000)} vs ${us(s10)})`,
      targets.cpu1000vs10,
    ],
    [
      `CPU per request, a visitor with ${REMEMBERED} remembered event ids <= ${TARGETS.cpuHeavyVsNew}x a new visitor (memory)`,
      `${x(targets.cpuHeavyVsNew.value)} (${us(heavy)} vs ${us(fresh)})`,
      targets.cpuHeavyVsNew,
    ],
  ];
  const targetTable = markdownTable(
    ['target (issue 15)', 'measured', 'verdict'],
    targetRows.map(([name, measured, t]) => [name, measured, verdict(t.met)]),
  );

  const rounds = bare?.slices ?? main?.slices;
  const cap = memoryCap();
  const short = options.seconds < FULL.seconds;
  const notes = [
    short
      ? `**Shortened run**: BENCH_SECONDS=${options.seconds} (a full run is ${FULL.seconds} s per case); the ratios are noisier.`
      : '',
    `Load average (1 / 5 / 15 min) at the start of this part ${loadAtStart.join(' / ')}, at its end ${loadAtEnd.join(' / ')}.`,
    `The load generator (autocannon, ${CONNECTIONS} connections, no pipelining) runs in a child process of its own. ` +
      `The bare server and the segtag cases above the 1,000,000-profile rows ran side by side: all started, warmed up ` +
      `${WARMUP_SECONDS} s each, then loaded ${options.seconds} s per case in ${rounds ?? '?'} rotating slices. ` +
      `Each call is one page event with a fresh id for a visitor picked at random (${int(VISITORS)} visitors unless stated: ` +
      `all of them are stored profiles after the warm-up), its signals matching 3 of the generated traits ` +
      `(the probe call qualified for ${probeSegments ?? '?'} segments).`,
    "CPU per request: the server process's utime + stime (/proc/<pid>/stat, all threads, 10 ms ticks) across each slice, " +
      "divided by its 2xx answers; the median over the slices. For Redis, redis-server's own CPU per request is its own row: " +
      'the target counts the segtag process only. A target with errors in either run reads n/a.',
    `The bare server reads each body but does not parse it: the floor of the HTTP stack. The load generator used ` +
      `${fmt((rows.find((r) => r.case == 'bare' && ok(r))?.driverCpuShare ?? NaN) * 100, 0)}% of a core during bare's slices ` +
      `(2 cores in all): with a fast server it may be the limit of req/s, not of CPU per request.`,
    `Heavy visitors: ${HEAVY_VISITORS} visitors were each sent ${REMEMBERED} events with distinct ids ` +
      `(${EVENTS_PER_SEED_CALL} per call${heavySeed ? `, ${int(heavySeed.ok)} calls in ${fmt(heavySeed.duration, 1)} s` : ''}) before the warm-up; ` +
      `every measured call adds one more id (the server keeps the most recent ${REMEMBERED}). ` +
      'The new-visitor case sends a visitor id never used before on every call (a profile is created each time' +
      (cap ? `; past ${int(cap)} the memory store forgets the least recently updated` : '') +
      ').',
    main
      ? `The 1,000 visitors of the side-by-side cases remember more event ids as the run goes on: by the end of the ` +
        `100-segment memory case about ${int(Math.min(REMEMBERED, (main.warmupCalls + main.requests + (main.halfCalls ?? 0)) / VISITORS))} ` +
        `each (at most ${REMEMBERED} are kept), so a longer run measures heavier profiles there.`
      : '',
    half
      ? `Half load: autocannon overallRate ${int(half.rate)} req/s for ${options.seconds} s on the warm 100-segment memory server; ` +
        `autocannon's own p99 there (whole ms, corrected for coordinated omission): ${half.p99Autocannon} ms; the verdict takes the larger p99. ` +
        `CPU per request at that rate: ${int(half.cpuUs)} µs (not side by side: no ratio).`
      : '',
    `The ${int(PROFILES)}-profile rows were measured alone after the side-by-side rounds (no ratio to bare); ` +
      'their seeding is bounded by BENCH_SEED_SECONDS.' +
      (cap && cap < PROFILES
        ? ` This build's memory store keeps at most ${int(cap)} profiles: its ${int(PROFILES)}-profile row measures a full store evicting the oldest.`
        : ''),
    `Stores this build's CLI --help lists: ${cli.store ? ['memory', cli.sqlite && 'SQLite', cli.redis && 'Redis'].filter(Boolean).join(', ') : 'memory only (no --store option)'}.`,
    ...rows
      .filter((r) => r.seedRate && !r.skipped)
      .map(
        (r) =>
          `Seeding ${int(r.profiles)} profiles (${STORE_LABELS[r.store]}): ${int(r.seedRate)} calls/s${r.seedErrors ? `, ${r.seedErrors} errors` : ''}.`,
      ),
  ].filter(Boolean);
  return {
    title: 'Server throughput and CPU per request',
    rows,
    targets,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    table: `${table}\n\n${targetTable}`,
    notes,
  };
}
