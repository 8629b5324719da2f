import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/**
 * The repository root: `SEGTAG_ROOT` when set, else two levels above this module. That holds both
 * for the source (src/server/*.ts) and for the bundle (dist/server/cli.mjs), where every module's
 * import.meta.url is the bundle's.
 */
export function repoRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.SEGTAG_ROOT || fileURLToPath(new URL('../..', import.meta.url)));
}
