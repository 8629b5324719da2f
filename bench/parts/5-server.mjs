/**
 * Part 5 — server throughput with autocannon on 127.0.0.1: segtag-server as the build's CLI
 * starts it (a child process, per-request logging off), against a bare node:http server that
 * answers the same bytes. Every call varies the visitor and sends a fresh event id.
 *
 * The compared cases (bare, 10/100/1,000 segments, other stores) run side by side: all servers
 * are started, warmed up, then loaded in short slices round-robin until each had its
 * BENCH_SECONDS, so noise from a shared machine lands on every case alike and the ratios hold.
 * Stores beyond memory are measured only when the CLI's --help lists them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hit, load, summarizeRuns } from '../lib/load.mjs';
import { BENCH_DIR, ROOT, SERVER_CLI } from '../lib/paths.mjs';
import { freePort, memoryOf, startProcess } from '../lib/processes.mjs';
import { fmt, int, rotated, verdict } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';
import { generateRules, requestBody, uidOf } from '../lib/workload.mjs';
import { options } from '../lib/options.mjs';

const CONNECTIONS = 10;
const WARMUP_SECONDS = 2;
const ROUNDS = 5;
const VISITORS = 1000; // visitors the side-by-side cases spread their calls over
const PROFILES = [1_000, 1_000_000];
const SEED_CHUNK = 50_000;
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
    return {
      title: 'Server throughput',
      rows: [],
      table: 'not available: server/dist/cli.mjs was not built',
      notes: [],
    };
  }
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
  const visitors = (count) => () => uidOf(Math.floor(Math.random() * count));

  const rows = [];
  const row = (r) => (rows.push(r), r);
  const stores = [
    { key: 'memory', label: 'memory', available: true },
    { key: 'sqlite', label: 'SQLite', available: cli.sqlite },
    { key: 'redis', label: 'Redis', available: cli.redis && existsSync('/usr/bin/redis-server') },
  ];
  const unavailable = (s) =>
    !cli.store
      ? 'not available in this build (no --store in the CLI --help)'
      : s.key == 'redis' && cli.redis
        ? 'skipped: /usr/bin/redis-server missing (apt-get install redis-server)'
        : `not available in this build (--help lists no ${s.label} store)`;

  try {
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
    const cases = [
      {
        case: 'bare',
        segments: 100,
        start: async () => {
          const p = track(
            await startProcess(process.execPath, [join(BENCH_DIR, 'servers/bare-http.mjs'), answerFile], {
              ready: /listening on (http:\/\/\S+)/,
            }),
          );
          return { url: p.match[1], pid: p.proc.pid, stop: () => untrack(p) };
        },
      },
      { case: 'max', store: 'memory', segments: 100 },
      { case: 'max', store: 'memory', segments: 10 },
      { case: 'max', store: 'memory', segments: 1000 },
      ...stores
        .filter((s) => s.key != 'memory')
        .map((s) => ({
          case: 'max',
          store: s.label,
          storeKey: s.key,
          segments: 100,
          skipped: s.available ? undefined : unavailable(s),
        })),
    ];
    const live = [];
    for (const c of cases) {
      if (c.skipped) continue;
      try {
        c.server = c.start ? await c.start() : await startSegtag(c.segments, c.storeKey ?? 'memory');
        live.push(c);
      } catch (e) {
        c.failed = String(e?.message ?? e).split('\n')[0];
      }
    }
    const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(options.seconds)));
    const slice = options.seconds / rounds;
    process.stderr.write(
      `  server: ${live.length} servers side by side, ${rounds} rounds of ${fmt(slice, 1)} s each\n`,
    );
    for (const c of live) {
      c.body = () => requestBody(visitors(VISITORS)(), c.segments);
      await hit(c.server.url, { seconds: WARMUP_SECONDS, connections: CONNECTIONS, body: c.body });
      c.runs = [];
      c.latencies = [];
    }
    for (let r = 0; r < rounds; r++) {
      for (const c of rotated(live, r)) {
        c.runs.push(
          await hit(c.server.url, { seconds: slice, connections: CONNECTIONS, body: c.body, latencies: c.latencies }),
        );
      }
    }
    for (const c of live) Object.assign(c, summarizeRuns(c.runs, c.latencies), memory(c.server));

    // p99 at half the 100-segment server's maximum, on the same (warm) server.
    const main = cases.find((c) => c.case == 'max' && c.store == 'memory' && c.segments == 100);
    let half;
    if (main.server) {
      const rate = Math.max(1, Math.round(main.reqPerSec / 2));
      process.stderr.write(`  server: memory store at ${int(rate)} req/s\n`);
      half = { case: 'half', rate, store: 'memory', segments: 100, profiles: VISITORS };
      Object.assign(
        half,
        await load(main.server.url, {
          seconds: options.seconds,
          connections: CONNECTIONS,
          overallRate: rate,
          body: main.body,
        }),
        memory(main.server),
      );
    }
    for (const c of live) await c.server.stop();
    for (const c of cases) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the row leaves these out
      const { server, runs, latencies, body, start, storeKey, ...kept } = c;
      row({ ...kept, profiles: c.case == 'bare' ? undefined : VISITORS });
      if (c === main && half) row(half);
    }

    // Stored profiles: seed distinct visitors through the API (bounded in time), then measure
    // calls spread over all of them.
    for (const st of stores) {
      if (!st.available) {
        for (const count of PROFILES)
          row({ case: 'profiles', store: st.label, segments: 100, profiles: count, skipped: unavailable(st) });
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
          const measured = await load(s.url, {
            seconds: options.seconds,
            connections: CONNECTIONS,
            warmupSeconds: WARMUP_SECONDS,
            body: () => requestBody(visitors(seeded)(), 100),
          });
          row({
            case: 'profiles',
            store: st.label,
            segments: 100,
            profiles: count,
            seedRate: seed.rate,
            seedErrors: seed.errors,
            ...measured,
            ...memory(s),
          });
        }
      } catch (e) {
        row({ case: 'profiles', store: st.label, segments: 100, failed: String(e?.message ?? e).split('\n')[0] });
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
    // No pipelining: autocannon's `amount` mode can drop pipelined requests at the end of a run.
    const r = await hit(url, { amount, connections: 64, body: () => requestBody(uidOf(next++), 100) });
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
  const ok = (r) => r && !r.skipped && !r.failed;
  const bare = rows.find((r) => r.case == 'bare' && ok(r));
  const at = (n, kind = 'max') => rows.find((r) => r.case == kind && r.store == 'memory' && r.segments == n && ok(r));
  const main = at(100);
  const half = at(100, 'half');
  const s10 = at(10);
  const s1000 = at(1000);
  const clean = (r) => r && !r.errors && !r.non2xx;
  const targets = {
    halfOfBare: {
      met: clean(main) && bare ? main.reqPerSec >= TARGETS.vsBare * bare.reqPerSec : null,
      ratio: main && bare ? main.reqPerSec / bare.reqPerSec : undefined,
    },
    p99AtHalfLoad: {
      met: clean(half) ? Math.max(half.p99, half.p99Autocannon) < TARGETS.p99Ms : null,
      p99: half?.p99,
      p99Autocannon: half?.p99Autocannon,
    },
    keep1000vs10: {
      met: clean(s10) && clean(s1000) ? s1000.reqPerSec >= TARGETS.keep1000vs10 * s10.reqPerSec : null,
      ratio: s10 && s1000 ? s1000.reqPerSec / s10.reqPerSec : undefined,
    },
  };
  const label = (r) =>
    r.case == 'bare'
      ? 'bare node:http, same answer bytes'
      : r.case == 'half'
        ? `segtag, 100 segments, at half its max (${int(r.rate)} req/s)`
        : r.case == 'profiles'
          ? `segtag, 100 segments, ${int(r.profiles)} stored profiles`
          : `segtag, ${int(r.segments)} segments`;
  const target = (r) => {
    if (r === main) return verdict(targets.halfOfBare.met, `>= ${TARGETS.vsBare * 100}% of bare`);
    if (r === half) return verdict(targets.p99AtHalfLoad.met, `p99 < ${TARGETS.p99Ms} ms`);
    if (r === s1000) {
      return verdict(
        targets.keep1000vs10.met,
        `>= ${TARGETS.keep1000vs10 * 100}% of 10 segments: ${fmt((targets.keep1000vs10.ratio ?? NaN) * 100, 0)}%`,
      );
    }
    return '';
  };
  const table = markdownTable(
    ['case', 'store', 'req/s:', 'vs bare:', 'p50 ms:', 'p99 ms:', 'RSS MiB (peak):', 'errors:', 'target'],
    rows.map((r) => {
      const head = [label(r), r.case == 'bare' ? '-' : r.store];
      if (!ok(r)) return [...head, r.skipped ?? `failed: ${r.failed}`, '', '', '', '', '', ''];
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
    `${CONNECTIONS} connections, no pipelining. The bare server and the segment-count and store cases ran side by side: ` +
      `all started, warmed up ${WARMUP_SECONDS} s each, then loaded in ${options.seconds} s per case split into rotating slices. ` +
      `Each call is one page event with a fresh id for a visitor picked at random (${int(VISITORS)} visitors unless stated), ` +
      `its signals matching 3 of the generated traits (the probe call qualified for ${probeSegments ?? '?'} segments). ` +
      'autocannon runs in the bench process, on the same machine as the servers.',
    'The bare server reads each body but does not parse it: the floor of the HTTP stack; with a fast server the load generator may be the limit.',
    half
      ? `Half load: autocannon overallRate ${int(half.rate)} req/s for ${options.seconds} s; autocannon's own p99 there ` +
        `(whole ms, corrected for coordinated omission): ${half.p99Autocannon} ms; the verdict takes the larger p99.`
      : '',
    cap && cap < 1_000_000
      ? `This build's memory store keeps at most ${int(cap)} profiles: past that, a 1,000,000-profile case measures a full store evicting the oldest.`
      : '',
    `Stores offered by this build's CLI: ${cli.store ? (cli.help.match(/--store[^\n]*/)?.[0] ?? '--store') : 'memory only (no --store option)'}.`,
    ...rows
      .filter((r) => r.seedRate && !r.skipped)
      .map(
        (r) =>
          `Seeding ${int(r.profiles)} profiles (${r.store}): ${int(r.seedRate)} calls/s${r.seedErrors ? `, ${r.seedErrors} errors` : ''}.`,
      ),
  ].filter(Boolean);
  return { title: 'Server throughput', rows, targets, table, notes };
}
