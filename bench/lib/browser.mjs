/**
 * Chromium through Playwright, launched as playwright.config.ts launches it (keep the args in
 * sync): the system Chromium where there is one, and host names under *.pub.test mapped to
 * loopback so pages, the decisioning server and the peers' endpoints have real names.
 */
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

const systemChromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p && existsSync(p),
);

export const LAUNCH_OPTIONS = {
  executablePath: systemChromium,
  args: [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP *.pub.test 127.0.0.1, MAP *.example.co.uk 127.0.0.1',
  ],
};

export function launchBrowser() {
  return chromium.launch(LAUNCH_OPTIONS);
}

/** True for the hosts that resolve to this machine; everything else must be routed. */
export function isLoopbackUrl(url) {
  const { hostname } = new URL(url);
  return hostname == '127.0.0.1' || hostname == 'localhost' || hostname.endsWith('.pub.test');
}
