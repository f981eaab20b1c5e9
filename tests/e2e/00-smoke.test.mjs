// 00-smoke: the front ends serve the web client and the API docs, through
// nginx and through Apache, in Chromium.
//   - / renders the app (title says 一起看 / yiqikan), with no console error
//     and no Content-Security-Policy violation;
//   - a deep link (/rooms/1) serves the app (history-API fallback), but a
//     missing build file (/assets/nope.js) is 404, not index.html;
//   - the security headers are on the page and on errors;
//   - /api/openapi.json is the OpenAPI 3.1 document; /api/docs/ renders
//     Swagger UI under the same CSP with every operation of the document,
//     and its Authorize (OAuth2 password flow against /api/token) and
//     "Try it out" work against the real API;
//   - /api/nope is still the API's JSON 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, person, screenshot, uniqueName } from './browser.mjs';

const FRONTS = [
  ['nginx', env.baseUrl],
  ['apache', env.apacheUrl],
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// A person whose console errors, page errors and CSP violations are kept.
// The listener for violations is an init script: Playwright injects it
// outside the page's CSP, before any script of the page.
async function watched(base) {
  const p = await person(browser, base);
  const problems = [];
  p.page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    // An anonymous visit may probe the session (401): the browser logs the
    // status, which is the API working, not the page failing.  Chromium
    // asks for /favicon.ico by itself when a page names no icon.
    if (/Failed to load resource: the server responded with a status of 401/.test(m.text())) return;
    if (/\/favicon\.ico$/.test(url) && /status of 404/.test(m.text())) return;
    problems.push(`console: ${m.text()} (${url})`);
  });
  p.page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await p.context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  p.problems = async () => {
    const csp = await p.page.evaluate(() => window.__cspViolations || []).catch(() => []);
    return [...problems, ...csp.map((v) => `csp: ${v}`)];
  };
  return p;
}

function assertSecurityHeaders(headers, what) {
  const csp = headers['content-security-policy'] || '';
  assert.match(csp, /default-src 'self'/, `${what}: CSP default-src`);
  assert.match(csp, /script-src 'self'(;|$)/, `${what}: CSP script-src`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${what}: CSP without unsafe-*`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.ok(headers['referrer-policy'], `${what}: Referrer-Policy`);
  assert.doesNotMatch(headers.server || '', /\d/, `${what}: Server header without a version`);
}

let operations; // [[method, path]] of the committed document, read once

for (const [name, base] of FRONTS) {
  describe(`through ${name}`, () => {
    test('the front end is configured', () => {
      assert.ok(base, `the ${name} URL is not set (YQ_BASE_URL / YQ_APACHE_URL)`);
    });

    test('/ renders the app without console errors or CSP violations', async () => {
      const p = await watched(base);
      try {
        const res = await p.page.goto('/', { waitUntil: 'load' });
        assert.equal(res.status(), 200);
        assert.match(res.headers()['content-type'], /^text\/html/);
        assertSecurityHeaders(res.headers(), '/');
        assert.match(res.headers()['cache-control'] || '', /no-cache/, 'index.html is revalidated');
        await p.page.waitForFunction(() => document.body && document.body.innerText.trim().length > 0);
        assert.match(await p.page.title(), /一起看|yiqikan/i);
        // scripts loaded, from this origin only
        const scripts = await p.page.evaluate(() =>
          [...document.scripts].map((s) => s.src).filter(Boolean));
        for (const src of scripts) assert.equal(new URL(src).origin, new URL(base).origin, src);
        await p.page.waitForTimeout(500); // late errors of the first render
        await screenshot(p.page, `00-smoke-${name}-home`);
        assert.deepEqual(await p.problems(), []);
      } finally {
        await p.context.close();
      }
    });

    test('a deep link serves the app; a missing file is 404', async () => {
      const p = await watched(base);
      try {
        const index = await (await p.context.request.get('/')).text();
        const res = await p.page.goto('/rooms/1', { waitUntil: 'load' });
        assert.equal(res.status(), 200);
        assert.equal(await res.text(), index, '/rooms/1 is index.html');
        await p.page.waitForFunction(() => document.body && document.body.innerText.trim().length > 0);
        assert.match(await p.page.title(), /一起看|yiqikan/i);
        assert.deepEqual(await p.problems(), []);

        for (const path of ['/assets/nope.js', '/nope.png', '/api/docs/nope.js']) {
          const r = await p.context.request.get(path);
          assert.equal(r.status(), 404, path);
          assert.notEqual(await r.text(), index, `${path} is not index.html`);
          assertSecurityHeaders(r.headers(), path);
        }
        // the build's own files: hashed, cached for ever
        const js = await p.page.evaluate(() => [...document.scripts].map((s) => s.src).find((s) => s.includes('/assets/')));
        if (js) {
          const r = await p.context.request.get(js);
          assert.equal(r.status(), 200);
          assert.match(r.headers()['content-type'], /javascript/);
          assert.match(r.headers()['cache-control'] || '', /immutable/);
        }
      } finally {
        await p.context.close();
      }
    });

    test('/api/nope is the API\'s JSON 404', async () => {
      const p = await person(browser, base);
      try {
        const r = await p.context.request.get('/api/nope');
        assert.equal(r.status(), 404);
        assert.match(r.headers()['content-type'], /^application\/json/);
        assert.deepEqual(await r.json(), { detail: 'Not Found' });
        assert.equal(r.headers()['x-content-type-options'], 'nosniff');
      } finally {
        await p.context.close();
      }
    });

    test('/api/openapi.json is the OpenAPI 3.1 document', async () => {
      const p = await person(browser, base);
      try {
        const r = await p.context.request.get('/api/openapi.json');
        assert.equal(r.status(), 200);
        assert.match(r.headers()['content-type'], /^application\/json/);
        const doc = await r.json();
        assert.match(doc.openapi, /^3\.1\.\d+$/);
        const ops = [];
        for (const [path, item] of Object.entries(doc.paths)) {
          for (const m of ['get', 'put', 'post', 'delete', 'patch']) if (item[m]) ops.push([m, path]);
        }
        assert.ok(ops.length >= 30, `${ops.length} operations`);
        operations = operations || ops;
        assert.deepEqual(ops, operations, 'the same document behind both front ends');
      } finally {
        await p.context.close();
      }
    });

    test('/api/docs/ renders Swagger UI with our operations; Authorize and Try it out work', async () => {
      assert.ok(operations, 'the document was read');
      const p = await watched(base);
      const { page } = p;
      try {
        const res = await page.goto('/api/docs/', { waitUntil: 'load' });
        assert.equal(res.status(), 200);
        assertSecurityHeaders(res.headers(), '/api/docs/');
        await page.locator('.opblock').first().waitFor();
        const shown = await page.$$eval('.opblock', (els) => els.map((el) => [
          el.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
          el.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ]));
        const key = ([m, path]) => `${m} ${path}`;
        assert.deepEqual(shown.map(key).sort(), operations.map(key).sort());
        await screenshot(page, `00-smoke-${name}-apidocs`);

        // a user to log in with, made through the API
        const username = uniqueName('docs');
        const password = 'correct horse battery';
        const reg = await p.context.request.post('/api/users', {
          data: { username, email: `${username}@example.com`, password },
        });
        assert.equal(reg.status(), 201, await reg.text());

        // Authorize: the OAuth2 password flow posts the form to /api/token
        await page.getByRole('button', { name: /authorize/i }).first().click();
        const modal = page.locator('.modal-ux');
        await modal.locator('#oauth_username').fill(username);
        await modal.locator('#oauth_password').fill(password);
        const login = page.waitForResponse((r) => r.url().endsWith('/api/token') && r.request().method() === 'POST');
        const oauth = modal.locator('.auth-container', { has: page.locator('#oauth_username') });
        await oauth.locator('button.authorize').click();
        const token = await login;
        assert.equal(token.status(), 200, await token.text());
        await modal.getByRole('button', { name: 'Remove authorization' }).waitFor();
        await modal.locator('.close-modal').click();

        // Try it out: GET /users/me with the token Swagger now holds
        const op = page.locator('#operations-users-getMe');
        await op.locator('.opblock-summary').click();
        await op.getByRole('button', { name: /try it out/i }).click();
        const me = page.waitForResponse((r) => r.url().endsWith('/api/users/me'));
        await op.getByRole('button', { name: /execute/i }).click();
        const r = await me;
        assert.equal(r.status(), 200);
        assert.equal((await r.json()).username, username);
        await op.locator('.live-responses-table tr.response .response-col_status').first().waitFor();
        assert.match(await op.locator('.live-responses-table tr.response .response-col_status').first().innerText(), /200/);
        await screenshot(page, `00-smoke-${name}-apidocs-try`);
        assert.deepEqual(await p.problems(), []);
      } finally {
        await p.context.close();
      }
    });
  });
}
