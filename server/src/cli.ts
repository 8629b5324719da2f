/**
 * The `segtag-server` command (package.json `bin`), bundled by rollup (server/rollup.config.mjs)
 * to dist/cli.mjs. `node dist/cli.mjs --help` lists the options; see cli/args.ts and cli/main.ts.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './cli/main';

export { main } from './cli/main';
export { parseCliArgs, UsageError, USAGE } from './cli/args';

/** True when this module is the script node was asked to run (not when a test imports it). */
function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) == realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void main();
