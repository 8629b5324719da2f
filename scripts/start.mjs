// `npm start`: build once if the SDK, its protocol module or the server bundle is missing, then
// run the server CLI with the demo page (`--demo`: the CLI serves it only when asked) and the
// example rules (its default). Arguments pass through: `npm start -- --port 0 --rules my-rules.json`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'server/dist/cli.mjs');
// What the server needs at run time: the script tag it serves, the protocol module its bundle
// imports (segtag/protocol), and the bundle itself.
const needed = [join(root, 'dist/segtag.min.js'), join(root, 'dist/protocol.mjs'), cli];

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

const missing = needed.filter((file) => !existsSync(file));
if (missing.length) {
  console.log(`segtag: building (missing ${missing.map((f) => f.slice(root.length)).join(', ')})…`);
  const code = await run('npm', ['run', 'build'], { shell: process.platform == 'win32' });
  if (code != 0) process.exit(code);
  const still = needed.filter((file) => !existsSync(file));
  if (still.length) {
    console.error(`segtag: the build did not produce ${still.map((f) => f.slice(root.length)).join(', ')}`);
    process.exit(1);
  }
}

process.exitCode = await run(process.execPath, [cli, '--demo', ...process.argv.slice(2)]);
