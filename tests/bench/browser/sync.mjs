// sync.mjs - scenario 9, the browser sync benchmark: N headless Chromium
// pages of the web client in one room play the test video while a leader
// plays, seeks, pauses and resumes, and one page reloads; how far apart are
// the pages' frames, and how long until they agree again?
//
//   node --experimental-websocket tests/bench/browser/sync.mjs --base http://127.0.0.1:PORT \
//        --media-dir DIR [--media-path /media/yq-bench.mp4] [--pages 5] [--seconds 60] [--self-check]
//        [--dump FILE]
//
// Set-up goes through the REST API from Node (register, log in, create the
// room, join); the leader's play_control through /ws/rooms/{id}?ticket=
// from Node.  The pages only log in through the form and open
// /rooms/{id}: what they play is the client's own doing.  Each page
// records, by its own clock (performance.timeOrigin + the frame's
// expectedDisplayTime), the mediaTime of every frame it presents
// (requestVideoFrameCallback), and its <video>'s currentTime/paused every
// 50 ms; drift.mjs turns that into pairwise drift on a common wall clock.
//
// --self-check runs the same measurement on a static page with a <video>
// that the harness drives itself (no web client, no server logic): a check
// of the harness and the browser, whose figures say nothing of yiqikan.
//
// Prints one JSON object on stdout.  Exit status: 0 measured; 3 the web
// client is not there ({"unavailable": why}); 1 something failed ({"error"}).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { analyse } from './drift.mjs';
import { Api, Leader, PATHS, SELECTORS, loginPage } from './app.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const E2E = resolve(HERE, '../../e2e/browser.mjs'); // launch() and the browser's flags

const opt = { base: '', mediaDir: '', mediaPath: '/media/yq-bench.mp4', pages: 5, seconds: 60, selfCheck: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i];
  if (a === '--base') opt.base = v().replace(/\/$/, '');
  else if (a === '--media-dir') opt.mediaDir = v();
  else if (a === '--media-path') opt.mediaPath = v();
  else if (a === '--pages') opt.pages = Number(v());
  else if (a === '--seconds') opt.seconds = Number(v());
  else if (a === '--self-check') opt.selfCheck = true;
  else if (a === '--dump') opt.dump = v();
  else out({ error: `unknown argument ${a}` }, 1);
}
const usage = !opt.base || !opt.mediaDir ? '--base and --media-dir are needed'
  : !(opt.pages >= 2 && opt.pages <= 10) ? '--pages must be 2 to 10'
    : !(opt.seconds >= 8) ? '--seconds must be at least 8' : null;

const PASSWORD = 'bench-Passw0rd!';
const log = (m) => process.stderr.write(`bench9: ${m}\n`);

function out(obj, code) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code);
}
// thrown, so the browser is closed on the way out
class Stop extends Error {
  constructor(obj, code) {
    super(obj.error || obj.unavailable);
    this.obj = obj;
    this.code = code;
  }
}
function fail(why) {
  throw new Stop({ error: why }, 1);
}
function unavailable(why) {
  throw new Stop({ unavailable: why }, 3);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the test video: H.264 640x360 30 fps, a keyframe a second, no
// B-frames, moov first, silent AAC; long enough for the run and the seek ----
function makeVideo() {
  const secs = Math.ceil(opt.seconds + 45);
  const file = join(opt.mediaDir, opt.mediaPath.split('/').pop());
  const stamp = `${file}.${secs}s`;
  if (existsSync(file) && existsSync(stamp)) return secs;
  mkdirSync(opt.mediaDir, { recursive: true });
  log(`making a ${secs} s test video with ffmpeg`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${secs}`,
    '-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo:duration=${secs}`, '-c:v', 'libx264', '-preset', 'veryfast',
    '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0', '-c:a', 'aac', '-b:a', '64k', '-shortest',
    '-movflags', '+faststart', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, '');
  return secs;
}

// ---- what each page records (injected before any of the page's scripts,
// again after every navigation, reload included) ----
const PAGE_SCRIPT = `(() => {
  const W = (window.__yqBench = { frames: [], states: [], videos: 0 });
  let cur = null;
  const watch = (v) => {
    const onFrame = (now, md) => {
      W.frames.push([performance.timeOrigin + md.expectedDisplayTime, md.mediaTime * 1000]);
      if (cur === v) v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  };
  setInterval(() => {
    const v = document.querySelector(${JSON.stringify(SELECTORS.video)});
    if (v && v !== cur) { cur = v; W.videos++; if ('requestVideoFrameCallback' in v) watch(v); }
    const st = document.querySelector(${JSON.stringify(SELECTORS.syncStatus)});
    const m = st && /\\((-?\\d+) ms\\)/.exec(st.textContent || '');
    if (v) W.states.push([performance.timeOrigin + performance.now(), v.currentTime * 1000, v.paused ? 1 : 0,
      v.readyState, v.playbackRate, m ? Number(m[1]) : null]);
  }, 50);
})();`;

async function collect(p) {
  try {
    const d = await p.page.evaluate(() => {
      const W = window.__yqBench;
      if (!W) return null;
      const r = { frames: W.frames, states: W.states, videos: W.videos };
      W.frames = [];
      W.states = [];
      return r;
    });
    if (!d) return;
    for (const [t, m] of d.frames) p.frames.push({ t, m });
    for (const [t, ct, paused, rs, rate, engine] of d.states) p.states.push({ t, ct, paused: !!paused, rs, rate, engine });
    p.videosSeen = Math.max(p.videosSeen, d.videos);
  } catch (e) {
    p.collectErrors = (p.collectErrors || 0) + 1; // a page mid-navigation
  }
}

async function main() {
  if (usage) fail(usage);
  // the web client must be there: /login is the SPA's HTML
  let launch;
  try {
    ({ launch } = await import(E2E));
  } catch (e) {
    fail(`cannot load tests/e2e/browser.mjs (playwright-core: npm ci in tests/e2e): ${e.message}`);
  }
  if (!opt.selfCheck) {
    let r;
    try {
      r = await fetch(opt.base + PATHS.login);
    } catch (e) {
      fail(`GET ${opt.base}${PATHS.login}: ${e.message}`);
    }
    const type = r.headers.get('content-type') || '';
    if (r.status !== 200 || !type.includes('text/html')) {
      unavailable(`GET ${PATHS.login} answered ${r.status} ${type || '(no type)'}: the stack does not serve the web client`);
    }
  }
  const videoSeconds = makeVideo();
  const mediaUrl = opt.base + opt.mediaPath;
  const head = await fetch(mediaUrl, { headers: { range: 'bytes=0-1' } });
  if (head.status !== 206) fail(`GET ${opt.mediaPath} with a Range answered ${head.status}, want 206 (seeking needs ranges)`);

  const api = new Api(opt.base);
  const tag = 'b9' + randomBytes(3).toString('hex');
  const names = Array.from({ length: opt.pages }, (_, i) => `${tag}_${i}`);
  let roomId = null;
  let leader = null;
  if (!opt.selfCheck) {
    log(`registering ${opt.pages} users; ${names[0]} creates the room`);
    for (const n of names) await api.register(n, PASSWORD);
    const tokens = [];
    for (const n of names) tokens.push(await api.login(n, PASSWORD));
    const room = await api.createRoom(tokens[0], `bench sync ${tag}`, { max_members: 10, keep_chat_history: false });
    roomId = room.id;
    for (const t of tokens.slice(1)) await api.join(t, roomId);
    const ticket = await api.ticket(tokens[0]);
    leader = new Leader(`${opt.base.replace(/^http/, 'ws')}/ws/rooms/${roomId}?ticket=${encodeURIComponent(ticket)}`);
    await leader.open();
    await leader.control({ action: 'load', media_url: mediaUrl, position_ms: 0 });
  }

  const browser = await launch();
  const pages = [];
  try {
    for (let i = 0; i < opt.pages; i++) {
      const context = await browser.newContext({ baseURL: opt.base, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.addInitScript(PAGE_SCRIPT);
      const p = { i, context, page, frames: [], states: [], videosSeen: 0 };
      pages.push(p);
      if (opt.selfCheck) {
        // a static page next to the video (init scripts run on navigations only)
        const name = 'yq-bench-selfcheck.html';
        writeFileSync(join(opt.mediaDir, name), '<!doctype html><meta charset="utf-8"><title>self-check</title>' +
          `<video muted playsinline preload="auto" src="${opt.mediaPath.split('/').pop()}"></video>\n`);
        await page.goto(opt.base + opt.mediaPath.replace(/[^/]*$/, name), { waitUntil: 'domcontentloaded' });
      } else {
        try {
          await loginPage(page, opt.base, names[i], PASSWORD);
        } catch (e) {
          unavailable(`logging in through ${PATHS.login} failed (${e.message.split('\n')[0]}): ` +
            'adjust SELECTORS in tests/bench/browser/app.mjs to the client');
        }
        await page.goto(opt.base + PATHS.room(roomId), { waitUntil: 'domcontentloaded' });
      }
    }
    // every page has a <video> with the media loaded
    const deadline = Date.now() + 45000;
    for (const p of pages) {
      try {
        await p.page.waitForFunction((sel) => {
          const v = document.querySelector(sel);
          return v && v.readyState >= 2;
        }, SELECTORS.video, { timeout: Math.max(1000, deadline - Date.now()) });
      } catch {
        fail(`page ${p.i} has no <video> with loaded media after 45 s (${p.page.url()})`);
      }
    }
    log(`${opt.pages} pages ready; playing for ${opt.seconds} s`);
    for (const p of pages) await collect(p); // drop what came before the start
    for (const p of pages) { p.frames = []; p.states = []; }

    // ---- the timeline ----
    const D = opt.seconds * 1000;
    const events = [];
    const drive = async (kind, position_ms) => {
      if (leader) {
        const { t, message } = await leader.control({ action: kind === 'start' ? 'play' : kind, position_ms });
        // the state the server broadcast (server_ts is its updated_at_ms, on
        // this machine's clock): where every page should be, for the
        // diagnostics
        const pb = message.payload || {};
        events.push({ t, kind, position_ms,
          room: { state: pb.state, position_ms: pb.position_ms, rate: pb.rate, at: pb.server_ts } });
      } else {
        // self-check: the harness is the "client", commanding every page at once
        const t = Date.now();
        events.push({ t, kind, position_ms });
        await Promise.all(pages.map((p) => p.page.evaluate(([k, pos]) => {
          const v = document.querySelector('video');
          if (k === 'seek' || k === 'start') v.currentTime = pos / 1000;
          if (k === 'pause') { v.pause(); v.currentTime = pos / 1000; } else v.play();
        }, [kind, position_ms])));
      }
    };
    const position = () => (leader ? leader.positionNow() : selfPosition());
    let selfState = { pos: 0, at: Date.now(), playing: false };
    const selfPosition = () => selfState.pos + (selfState.playing ? Date.now() - selfState.at : 0);
    const setSelf = (pos, playing) => { selfState = { pos, at: Date.now(), playing }; };

    const t0 = Date.now();
    const plan = [
      [0, async () => { await drive('start', 0); setSelf(0, true); }],
      [0.3 * D, async () => { const to = Math.round(position() + 20000); await drive('seek', to); setSelf(to, true); }],
      [0.5 * D, async () => { const at = Math.round(position()); await drive('pause', at); setSelf(at, false); }],
      [0.6 * D, async () => { const at = Math.round(position()); await drive('play', at); setSelf(at, true); }],
      [0.75 * D, async () => {
        const p = pages[2 % pages.length];
        await collect(p);
        events.push({ t: Date.now(), kind: 'reload', page: p.i });
        await p.page.reload({ waitUntil: 'domcontentloaded' });
      }],
    ];
    let next = 0;
    let lastCollect = Date.now();
    let lastBeat = Date.now();
    while (Date.now() - t0 < D) {
      if (next < plan.length && Date.now() - t0 >= plan[next][0]) {
        await plan[next][1]();
        next++;
      }
      if (Date.now() - lastCollect > 2000) {
        await Promise.all(pages.map(collect));
        lastCollect = Date.now();
      }
      if (leader && Date.now() - lastBeat > 10000) {
        leader.heartbeat();
        lastBeat = Date.now();
      }
      await sleep(20);
    }
    const t1 = Date.now();
    await Promise.all(pages.map(collect));

    const r = analyse(pages, events, t0, t1);
    if (opt.dump) {
      // everything the pages recorded, for a second look (drift.mjs reads it)
      writeFileSync(opt.dump, JSON.stringify({ t0, t1, events, pages: pages.map((p) => ({ frames: p.frames, states: p.states })) }));
    }
    const perPage = pages.map((p) => ({
      page: p.i, frames: p.frames.length, states: p.states.length, videos: p.videosSeen,
      collect_errors: p.collectErrors || 0,
    }));
    if (perPage.some((p) => p.frames < 10)) {
      fail(`a page presented (almost) no frames: ${JSON.stringify(perPage)} (requestVideoFrameCallback in this Chromium?)`);
    }
    return {
      mode: opt.selfCheck ? 'self-check' : 'web client',
      pages: opt.pages, seconds: opt.seconds, video: { path: opt.mediaPath, seconds: videoSeconds, codec: 'H.264 640x360 30 fps' },
      room_id: roomId, events: events.map((e) => ({ ...e, t: e.t - t0 })),
      ...r, resync: r.resync.map((x) => ({ ...x, t: x.t - t0 })), per_page: perPage,
      browser: browser.version(),
    };
  } finally {
    if (leader) leader.close();
    await browser.close().catch(() => {});
  }
}

main().then((r) => out(r, 0), (e) => (e instanceof Stop ? out(e.obj, e.code) : out({ error: e.stack || String(e) }, 1)));
