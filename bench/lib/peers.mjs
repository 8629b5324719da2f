/**
 * The peers we compare against, fetched from the npm registry with `npm pack` into the
 * git-ignored cache bench/.cache/ (nothing of theirs is committed). Versions are pinned to the
 * ones FIELD-NOTES section 7 measured, so runs on different days compare the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from './paths.mjs';

export const PEERS = {
  alloy: { pkg: '@adobe/alloy', version: '2.33.1', script: 'dist/alloy.min.js', label: 'Adobe Web SDK (alloy)' },
  segment: {
    pkg: '@segment/analytics-next',
    version: '1.84.3',
    script: 'dist/umd/standalone.js',
    label: 'Segment analytics-next (standalone loader)',
  },
  webVitals: {
    pkg: 'web-vitals',
    version: '6.2.3',
    script: 'dist/web-vitals.iife.js',
    label: 'web-vitals (small-library reference)',
  },
  jsCookie: { pkg: 'js-cookie', version: '3.0.8', script: 'dist/js.cookie.min.js', label: 'js-cookie' },
};

/** `@adobe/alloy` -> `adobe-alloy-2.33.1`: the name npm pack gives the tarball, minus `.tgz`. */
const packName = ({ pkg, version }) => `${pkg.replace(/^@/, '').replace('/', '-')}-${version}`;

/** The unpacked package directory (`.../package`), packing and unpacking it first if needed. */
export function peerDir(key) {
  const peer = PEERS[key];
  const name = packName(peer);
  const dir = join(CACHE_DIR, name);
  const pkgDir = join(dir, 'package');
  if (existsSync(join(pkgDir, peer.script))) return pkgDir;
  mkdirSync(CACHE_DIR, { recursive: true });
  const tgz = join(CACHE_DIR, `${name}.tgz`);
  if (!existsSync(tgz)) {
    process.stderr.write(`bench: npm pack ${peer.pkg}@${peer.version} -> bench/.cache/\n`);
    execFileSync('npm', ['pack', `${peer.pkg}@${peer.version}`, '--pack-destination', CACHE_DIR, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir]);
  if (!existsSync(join(pkgDir, peer.script))) {
    throw new Error(`${peer.pkg}@${peer.version} has no ${peer.script} (found: ${readdirSync(pkgDir).join(', ')})`);
  }
  return pkgDir;
}

/** Absolute path of a peer's script-tag build. */
export const peerScript = (key) => join(peerDir(key), PEERS[key].script);

export const peerVersion = (key) => `${PEERS[key].pkg}@${PEERS[key].version}`;
