/** What the numbers were measured on: they mean little without it. */
import os from 'node:os';
import { readFileSync } from 'node:fs';

export function machine(chromiumVersion) {
  const cpus = os.cpus();
  let osName = `${os.type()} ${os.release()}`;
  try {
    osName = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {}
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: osName,
    node: process.version,
    chromium: chromiumVersion ?? 'not run',
    loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

export function machineLine(m) {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; Chromium ${m.chromium}; ` +
    `load average at start ${m.loadAverage.join(' / ')}`
  );
}
