import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH_DIR, '..');
export const DIST = join(ROOT, 'dist');
export const CACHE_DIR = join(BENCH_DIR, '.cache');
export const SCRIPT_TAG = join(DIST, 'segtag.min.js');
export const STUB = join(DIST, 'stub.js');
/** The server CLI under test; BENCH_SERVER_CLI points the server part at another build. */
export const SERVER_CLI = process.env.BENCH_SERVER_CLI || join(ROOT, 'server', 'dist', 'cli.mjs');
