import { existsSync } from 'node:fs';

/** Chromium for the browser tests: CHROMIUM_PATH, or Debian's package (which .ci/run installs). */
export function findChromium(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (path): path is string => !!path && existsSync(path),
  );
}

/** CI (and anyone who sets COST_SENTRY_REQUIRE_BROWSER=1) must run the browser tests, never pass them by. */
export const BROWSER_REQUIRED = process.env.CI === 'true' || process.env.COST_SENTRY_REQUIRE_BROWSER === '1';

/** Flags for headless Chromium on a machine with no network but loopback. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
