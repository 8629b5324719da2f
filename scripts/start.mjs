// `npm start`: build once if the SDK or the server bundle is missing, then run the server CLI.
// Arguments pass through: `npm start -- --port 0 --rules my-rules.json`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/server/cli.mjs');
const needed = [join(root, 'dist/segtag.min.js'), cli];

/** Runs a command with inherited stdio; resolves with its exit code (signals forwarded to it). */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', ...options });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

if (needed.some((file) => !existsSync(file))) {
  console.log('segtag: building (dist/ is missing files)…');
  const code = await run('npx', ['rollup', '-c'], { shell: process.platform == 'win32' });
  if (code != 0) process.exit(code);
  if (!existsSync(cli)) {
    console.error('segtag: the build did not produce dist/server/cli.mjs: does rollup.config.mjs build src/server/cli.ts?');
    process.exit(1);
  }
}

process.exitCode = await run(process.execPath, [cli, ...process.argv.slice(2)]);
