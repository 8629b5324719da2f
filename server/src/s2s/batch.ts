/**
 * Batch server-to-server delivery: one file per partner and period, written under a hidden
 * temporary name and renamed into place when complete, then its manifest (written the same way).
 * A partner reads a manifest and then the file it names: a file without its manifest is not
 * finished being published, and a temporary file is never under a final name.
 *
 * The period starts where the last file's ended; its start names the file, so a run repeated
 * after a crash (the file renamed, the schedule not yet saved) replaces that file with a superset.
 *
 * One writer per period: the run holds the partner's lease (s2s/service.ts). Temporary names are
 * unique per writer; both files are complete on disk before a fenced check in the store, then
 * renamed at once (no await between the check and the renames), and the schedule is committed
 * fenced: a writer that lost its lease publishes nothing and moves nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { wants } from '../rules/partners';
import type { BatchPartner } from '../rules/types';
import type { Fence, Outbox } from '../stores/types';
import { createFolder } from './fold';

export interface BatchState {
  /** When the next file is due (ms since the epoch). */
  next: number;
  /** Where the next file's period starts. */
  from: number;
  /** Outbox rows up to this seq are in a file already (incremental). */
  cursor: number;
}

export interface Manifest {
  version: 1;
  partner: string;
  file: string;
  format: 'csv' | 'ndjson';
  gzip: boolean;
  mode: 'full' | 'incremental';
  rows: number;
  bytes: number;
  /** Hex SHA-256 of the file's bytes as stored (compressed when gzip). */
  sha256: string;
  period: { from: string; to: string };
  /** Incremental: the outbox rows the file covers, (afterSeq, toSeq]. */
  outbox?: { afterSeq: number; toSeq: number };
  createdAt: string;
}

export interface BatchDeps {
  outbox: Outbox;
  now: () => number;
  signal?: AbortSignal;
  /** Called every PROGRESS_EVERY rows and once at the end. */
  onProgress?: (rows: number, done: boolean) => void;
  /** The partner's lease: publishing and the schedule commit are refused once it is lost. */
  fence?: Fence;
}

const PAGE = 1000;
export const PROGRESS_EVERY = 10_000;
const TMP = /^\.segtag-.*\.tmp$/;
export const batchKey = (id: string) => `batch:${id}`;
export const intervalMs = (p: BatchPartner) => Math.round(p.intervalHours * 3_600_000);

export async function loadBatchState(outbox: Outbox, partner: BatchPartner, now: number): Promise<BatchState> {
  const text = await outbox.getState(batchKey(partner.id));
  if (text) return JSON.parse(text) as BatchState;
  // First sight of the partner: its first file is due one interval from now.
  const state = { next: now + intervalMs(partner), from: now, cursor: 0 };
  await outbox.setState(batchKey(partner.id), JSON.stringify(state));
  return state;
}

/** Deletes temporary files a killed run left behind. */
export function removeTemporaryFiles(dir: string) {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (TMP.test(name)) rmSync(join(dir, name), { force: true });
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '');

/** Writes `text` to the temporary file `tmp` and flushes it to disk. */
function writeSynced(tmp: string, text: string) {
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

function syncDir(dir: string) {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

const csvHeader = (mode: BatchPartner['mode']) => (mode == 'full' ? 'uid,segments\n' : 'uid,added,removed,ts\n');

/** Runs one export now and advances the partner's schedule; resolves with the manifest. */
export async function runBatch(partner: BatchPartner, deps: BatchDeps): Promise<Manifest> {
  const { outbox } = deps;
  const start = deps.now();
  const state = await loadBatchState(outbox, partner, start);
  mkdirSync(partner.dir, { recursive: true });
  removeTemporaryFiles(partner.dir);

  const ext = `${partner.format == 'csv' ? 'csv' : 'ndjson'}${partner.gzip ? '.gz' : ''}`;
  const name = `${partner.id}-${stamp(state.from)}.${ext}`;
  // Unique per writer: two writers never share a temporary file.
  const unique = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmp = join(partner.dir, `.segtag-${name}.${unique}.tmp`);
  const manifestTmp = join(partner.dir, `.segtag-${name}.manifest.json.${unique}.tmp`);
  const hash = createHash('sha256');
  let bytes = 0;
  const file = await open(tmp, 'w');
  const gzip = partner.gzip ? createGzip() : undefined;
  // Writes are chained so the file gets the bytes in the order they were hashed.
  let written: Promise<unknown> = Promise.resolve();
  const sink = (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    written = written.then(() => file.write(chunk));
    return written;
  };
  gzip?.on('data', sink);
  const emit = async (text: string) => {
    if (!text) return;
    if (!gzip) return void (await sink(Buffer.from(text)));
    if (!gzip.write(text)) await new Promise((r) => gzip.once('drain', r));
    await written;
  };

  let rows = 0;
  let toSeq = state.cursor;
  const line = (fields: { uid: string; segments?: string[]; added?: string[]; removed?: string[]; ts?: number }) =>
    partner.format == 'ndjson'
      ? `${JSON.stringify(fields)}\n`
      : // Segment ids and uids are allowlisted ([A-Za-z0-9_.:-]): no CSV quoting is ever needed.
        fields.segments
        ? `${fields.uid},${fields.segments.join('|')}\n`
        : `${fields.uid},${fields.added!.join('|')},${fields.removed!.join('|')},${new Date(fields.ts!).toISOString()}\n`;
  const progress = () => {
    if (rows % PROGRESS_EVERY == 0) deps.onProgress?.(rows, false);
  };

  try {
    if (partner.format == 'csv') await emit(csvHeader(partner.mode));
    let chunk = '';
    if (partner.mode == 'full') {
      let cursor: string | undefined = '';
      let exported: Set<string> | undefined; // only for stores whose pages can repeat a visitor
      while (cursor !== undefined) {
        if (deps.signal?.aborted) throw new Error('stopped');
        const page = await outbox.segmentsPage(cursor, PAGE);
        cursor = page.next;
        if (page.mayRepeat) exported ??= new Set();
        for (const p of page.rows) {
          if (exported) {
            if (exported.has(p.uid)) continue;
            exported.add(p.uid);
          }
          const segments = p.segments.filter((s) => wants(partner.segments, s));
          if (!segments.length) continue;
          chunk += line({ uid: p.uid, segments });
          rows++;
          progress();
        }
        await emit(chunk);
        chunk = '';
        // Let calls be answered between pages of a long export.
        await new Promise((r) => setImmediate(r));
      }
    } else {
      const last = await outbox.lastSeq(); // changes written during the export go to the next file
      const folder = createFolder(partner.segments);
      for (let after = state.cursor; after < last;) {
        if (deps.signal?.aborted) throw new Error('stopped');
        const page = (await outbox.after(after, PAGE)).filter((r) => r.seq <= last);
        if (!page.length) break;
        for (const row of page) folder.add(row);
        after = page[page.length - 1].seq;
        await new Promise((r) => setImmediate(r));
      }
      toSeq = last;
      for (const u of folder.users) {
        chunk += line({ uid: u.uid, added: u.segments.added, removed: u.segments.removed, ts: u.ts });
        rows++;
        progress();
        if (chunk.length > 64 * 1024) {
          await emit(chunk);
          chunk = '';
        }
      }
      await emit(chunk);
    }
    if (gzip) {
      await new Promise((resolve, reject) => {
        gzip.once('end', resolve).once('error', reject);
        gzip.end();
      });
    }
    await written;
    await file.sync();
  } catch (e) {
    gzip?.destroy();
    await written.catch(() => {});
    await file.close().catch(() => {});
    rmSync(tmp, { force: true });
    throw e;
  }
  await file.close();
  const end = deps.now();

  const manifest: Manifest = {
    version: 1,
    partner: partner.id,
    file: name,
    format: partner.format,
    gzip: partner.gzip,
    mode: partner.mode,
    rows,
    bytes,
    sha256: hash.digest('hex'),
    period: { from: new Date(state.from).toISOString(), to: new Date(end).toISOString() },
    ...(partner.mode == 'incremental' ? { outbox: { afterSeq: state.cursor, toSeq } } : {}),
    createdAt: new Date(end).toISOString(),
  };
  try {
    writeSynced(manifestTmp, `${JSON.stringify(manifest, null, 2)}\n`);
    // Still the owner? Checked in the store; the renames follow with no await in between.
    if (deps.fence) await outbox.setState(`batch-publish:${partner.id}`, name, undefined, deps.fence);
  } catch (e) {
    rmSync(tmp, { force: true });
    rmSync(manifestTmp, { force: true });
    throw e;
  }
  renameSync(tmp, join(partner.dir, name));
  renameSync(manifestTmp, join(partner.dir, `${name}.manifest.json`));
  syncDir(partner.dir);

  // The next run is one interval after the one due (several missed intervals make one file).
  const every = intervalMs(partner);
  let next = state.next;
  while (next <= end) next += every;
  await outbox.setState(
    batchKey(partner.id),
    JSON.stringify({ next, from: end, cursor: toSeq } satisfies BatchState),
    undefined,
    deps.fence,
  );
  deps.onProgress?.(rows, true);
  return manifest;
}
