import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

// Browsers cannot be downloaded on every machine: prefer a system Chromium
// (Debian: `apt-get install -y chromium`), else Playwright's own build.
const systemChromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p && existsSync(p),
);

export default defineConfig({
  testDir: 'e2e',
  timeout: 30_000,
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: process.env.CI ? 'line' : 'list',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: systemChromium,
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Real host names for cookie-domain tests, all resolved to loopback.
        '--host-resolver-rules=MAP *.pub.test 127.0.0.1, MAP *.example.co.uk 127.0.0.1',
      ],
    },
  },
});
