// apidocs.mjs - the last step of `npm run build`: put the interactive API
// docs next to the app, as plain static files the front end serves.
//
//   dist/api/openapi.json   the committed OpenAPI 3.1 document (doc/openapi.json)
//   dist/api/docs/          Swagger UI from the swagger-ui-dist package, with an
//                           index.html and a swagger-initializer.js of our own
//
// Our own files because the package's index.html is the petstore demo, and
// its initializer points at a remote document.  Nothing inline: the pages
// run under the same Content-Security-Policy as the app (script-src 'self').
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, '..');
const dist = join(web, 'dist');
const spec = resolve(web, '..', 'doc', 'openapi.json');
const require = createRequire(import.meta.url);
const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));

// What the page loads, and the licence that must travel with it.
const FILES = [
  'swagger-ui-bundle.js',
  'swagger-ui.css',
  'oauth2-redirect.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
  'LICENSE',
  'NOTICE',
];

const INDEX = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>yiqikan 一起看 — REST API</title>
  <link rel="stylesheet" href="./swagger-ui.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js"></script>
  <script src="./swagger-initializer.js"></script>
</body>
</html>
`;

// The OAuth2 password flow of the document posts to /api/token, so
// "Authorize" logs in and every "Try it out" carries the bearer token.
// The token stays in this page's memory (persistAuthorization off).
// BaseLayout, not the standalone preset's StandaloneLayout: the latter's
// top bar (a URL box to explore other documents, useless here) draws the
// Swagger logo as an SVG with an inline <style>, which style-src 'self'
// refuses; without it the docs need no CSP relaxation at all.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    oauth2RedirectUrl: window.location.origin + '/api/docs/oauth2-redirect.html',
    persistAuthorization: false,
    validatorUrl: null,
  });
});
`;

const REDIRECT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>yiqikan — OAuth2 redirect</title></head>
<body><script src="./oauth2-redirect.js"></script></body>
</html>
`;

const doc = JSON.parse(readFileSync(spec, 'utf8'));
if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.1.')) {
  throw new Error(`${spec}: not an OpenAPI 3.1 document`);
}

const out = join(dist, 'api');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'docs'), { recursive: true });
copyFileSync(spec, join(out, 'openapi.json'));
for (const f of FILES) copyFileSync(join(swagger, f), join(out, 'docs', f));
writeFileSync(join(out, 'docs', 'index.html'), INDEX);
writeFileSync(join(out, 'docs', 'swagger-initializer.js'), INITIALIZER);
writeFileSync(join(out, 'docs', 'oauth2-redirect.html'), REDIRECT);
console.log(`apidocs: ${Object.keys(doc.paths).length} paths, Swagger UI ${require(join(swagger, 'package.json')).version} in dist/api/`);
