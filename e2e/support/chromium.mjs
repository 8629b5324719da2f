/**
 * How tests and benchmarks launch Chromium (shared by playwright.config.ts and
 * bench/lib/browser.mjs). Browsers cannot be downloaded on every machine: prefer a system
 * Chromium (Debian: `apt-get install -y chromium`), else Playwright's own build.
 */
import { existsSync } from 'node:fs';

export const chromiumLaunchOptions = {
  executablePath: [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p) => p && existsSync(p),
  ),
  args: [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Real host names (cookie domains, peers' endpoints), all resolved to loopback.
    '--host-resolver-rules=MAP *.pub.test 127.0.0.1, MAP *.example.co.uk 127.0.0.1',
  ],
};
