/**
 * Child processes the server part starts and always stops (servers under test, redis-server),
 * and what it reads about them from /proc: memory and CPU time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';

/**
 * Spawns `cmd args` and resolves once a stdout line matches `ready` (with the match), or rejects
 * with the process's output when it exits first or `timeoutMs` passes.
 */
export function startProcess(cmd, args, { ready, timeoutMs = 30_000, env, cwd } = {}) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  let out = '';
  let err = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const matched = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${cmd} not ready after ${timeoutMs} ms:\n${out}${err}`)),
      timeoutMs,
    );
    proc.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
      if (out.length > 1e6) out = out.slice(-1e5); // a chatty child must not grow our memory
    });
    proc.stderr.on('data', (d) => (err = (err + d).slice(-1e5)));
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${cmd} ${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${(out + err).slice(-2000)}`,
        ),
      );
    });
  });
  const stop = async () => {
    if (proc.exitCode != null || proc.signalCode != null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return matched.then(
    (match) => ({ proc, match, stop, output: () => out + err }),
    async (e) => {
      await stop();
      throw e;
    },
  );
}

/** Resident memory of a process in MiB (`rss` now, `peak` since it started), from /proc on Linux. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, peakMiB: NaN };
  }
}

/** A free TCP port on 127.0.0.1 (for children that cannot pick one themselves, like redis-server). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let clockTicks;
/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, nearly always 100). */
function ticksPerSecond() {
  if (clockTicks == null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU seconds a process has used so far, user + system, all its threads (live and exited), from
 * /proc/<pid>/stat (utime and stime; resolution one clock tick, 10 ms). NaN when unreadable.
 */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** The 1, 5 and 15 minute load averages, from /proc/loadavg (os.loadavg() elsewhere). */
export function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return loadavg().map((x) => +x.toFixed(2));
  }
}
