/**
 * Chromium through Playwright, launched exactly as the e2e tests launch it (the options live in
 * e2e/support/chromium.mjs): the system Chromium where there is one, and host names under
 * *.pub.test mapped to loopback so pages, the server and the peers' endpoints have real names.
 */
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from '../../e2e/support/chromium.mjs';

export function launchBrowser() {
  return chromium.launch(chromiumLaunchOptions);
}

/** True for the hosts that resolve to this machine; everything else must be routed. */
export function isLoopbackUrl(url) {
  const { hostname } = new URL(url);
  return hostname == '127.0.0.1' || hostname == 'localhost' || hostname.endsWith('.pub.test');
}
