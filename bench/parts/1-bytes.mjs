/**
 * Part 1 — bytes on the wire: raw, gzip -9 and brotli (quality 11) of every file the build ships
 * to browsers, and of the peers' script-tag builds, with each peer's ratio to segtag's script tag.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { DIST, SCRIPT_TAG, STUB } from '../lib/paths.mjs';
import { PEERS, peerScript, peerVersion } from '../lib/peers.mjs';
import { int, ratio, verdict } from '../lib/stats.mjs';
import { markdownTable } from '../lib/table.mjs';

export const TARGETS = { scriptTagGzip: 5120, stubGzip: 200 };

export function sizes(file) {
  const bytes = readFileSync(file);
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length,
  };
}

export async function run() {
  const rows = [];
  const tag = { name: 'segtag script tag', file: 'dist/segtag.min.js', kind: 'script tag', ...sizes(SCRIPT_TAG) };
  rows.push({ ...tag, target: TARGETS.scriptTagGzip, met: tag.gzip <= TARGETS.scriptTagGzip });
  const stub = { name: 'segtag stub (inline)', file: 'dist/stub.js', kind: 'inline stub', ...sizes(STUB) };
  rows.push({ ...stub, target: TARGETS.stubGzip, met: stub.gzip <= TARGETS.stubGzip });
  // Every ESM entry the build emits, whatever their number (bundlers tree-shake and dedupe them further).
  for (const f of readdirSync(DIST)
    .filter((f) => f.endsWith('.mjs'))
    .sort()) {
    rows.push({ name: `segtag ESM ${basename(f)}`, file: `dist/${f}`, kind: 'npm entry', ...sizes(join(DIST, f)) });
  }
  for (const key of Object.keys(PEERS)) {
    rows.push({
      name: PEERS[key].label,
      file: `${peerVersion(key)} ${PEERS[key].script}`,
      kind: 'peer script tag',
      peer: key,
      ...sizes(peerScript(key)),
    });
  }
  for (const r of rows) if (r.kind == 'peer script tag') r.vsSegtag = r.gzip / tag.gzip;

  const table = markdownTable(
    ['file', 'raw B:', 'gzip -9 B:', 'brotli B:', 'gzip vs segtag:', 'target'],
    rows.map((r) => [
      `${r.name} (\`${r.file}\`)`,
      int(r.raw),
      int(r.gzip),
      int(r.brotli),
      r.kind == 'peer script tag' ? ratio(r.gzip, tag.gzip) : r.file == 'dist/segtag.min.js' ? '1.0x' : '',
      r.target ? verdict(r.met, `<= ${int(r.target)} B gzip`) : '',
    ]),
  );
  return { title: 'Bytes', rows, table };
}
