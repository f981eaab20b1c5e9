// The one place that knows how the e2e tests reach the stack and start
// Chromium.  Every scenario imports it; ./devstack e2e (and ./devstack test)
// sets the environment:
//   YQ_BASE_URL     the stack's nginx, e.g. http://127.0.0.1:8080
//   YQ_APACHE_URL   the stack's Apache (may be unset: Apache tests skip then
//                   fail the run, see requireApache)
//   YQ_MEDIA_PATH   path of the test video on either front end (/media/yq-test.mp4)
//   YQ_SCREENSHOTS  a directory for screenshots (created if missing)
//   YQ_CHROMIUM     the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const env = {
  baseUrl: process.env.YQ_BASE_URL || 'http://127.0.0.1:8080',
  apacheUrl: process.env.YQ_APACHE_URL || '',
  mediaPath: process.env.YQ_MEDIA_PATH || '/media/yq-test.mp4',
  screenshots: process.env.YQ_SCREENSHOTS || '',
  chromium: process.env.YQ_CHROMIUM || '/usr/bin/chromium',
};

// Flags: headless as root in a sandbox with a closed network; autoplay
// without a gesture so a follower's video may start on its own.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launch() {
  return chromium.launch({ executablePath: env.chromium, headless: true, args: FLAGS });
}

// A fresh context (its own storage: one person) with Chinese as the language.
export async function person(browser, base = env.baseUrl) {
  const context = await browser.newContext({ baseURL: base, locale: 'zh-CN' });
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page, name) {
  if (!env.screenshots) return;
  mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: join(env.screenshots, `${name}.png`), fullPage: true });
}

// A unique, valid username for this run (3-32 chars, [A-Za-z0-9_]).
let seq = 0;
export function uniqueName(prefix) {
  seq += 1;
  return `${prefix}_${Date.now().toString(36)}${seq}`.slice(0, 32);
}
