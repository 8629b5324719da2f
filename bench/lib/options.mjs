/**
 * Run lengths, from the environment so a developer can shorten a run:
 *   BENCH_SECONDS       seconds per server case (default 10)
 *   BENCH_PAGES         fresh pages per candidate in the browser parts (default 25, at least 20 counts)
 *   BENCH_CALLS         real-time calls per side in the call-overhead part (default 300)
 *   BENCH_SEED_SECONDS  time budget for seeding stored profiles (default 240)
 */
function num(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}: expected a number >= ${min}, got ${raw}`);
  return n;
}

export const options = {
  seconds: num('BENCH_SECONDS', 10),
  pages: num('BENCH_PAGES', 25),
  calls: num('BENCH_CALLS', 300),
  seedSeconds: num('BENCH_SEED_SECONDS', 240),
};

/** What the issue asks for; a shorter run is labelled as such in the tables. */
export const FULL = { seconds: 10, pages: 20, calls: 200 };

export function shortened() {
  const notes = [];
  if (options.seconds < FULL.seconds) notes.push(`BENCH_SECONDS=${options.seconds}`);
  if (options.pages < FULL.pages) notes.push(`BENCH_PAGES=${options.pages}`);
  if (options.calls < FULL.calls) notes.push(`BENCH_CALLS=${options.calls}`);
  return notes;
}
