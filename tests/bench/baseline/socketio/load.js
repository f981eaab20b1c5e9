// load.js - the load client of the Socket.IO baseline: scenario 5 the way
// yq-wsload drives yiqikan-ws, with socket.io-client.
//
//   node load.js --url http://127.0.0.1:PORT [--conns N] [--ramp R]
//                [--senders K] [--rate M] [--window W] [--size BYTES]
//                [--duration S] [--quiet-ms MS] [--drain-ms MS] [--settle S]
//                [--server-pid PID] [--json]
//
// The same phases, message and figures as yq-wsload (tests/bench/wsload.md):
// open --ramp connections a second (WebSocket transport only, one
// Manager per connection: forceNew), each joins the room "bench" and counts
// as ready when the join is acknowledged; after --quiet-ms, senders
// 0..K-1 send chat for --duration seconds, the text "t=<epoch us>;seq=<n>;
// s=<conn>;" padded to --size characters, at --rate a second each (open
// loop) or, with --rate 0, as fast as --window unanswered messages allow;
// a sender's own copy of the broadcast answers one slot of its window.
// Receivers record now - t for every broadcast; deliveries/s counts those
// that arrive in the window.  Sender and receivers are this one process,
// so one clock.  With --json the result is one JSON object on stdout,
// with yq-wsload's field names.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");

const opt = {
  url: "",
  conns: 100,
  ramp: 200,
  senders: 1,
  rate: 0,
  window: 64,
  size: 64,
  duration: 10,
  quietMs: 1000,
  drainMs: 2000,
  settle: 60,
  serverPid: 0,
  json: false,
};

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    "usage: node load.js --url http://127.0.0.1:PORT [--conns N] [--ramp R] [--senders K] [--rate M]\n" +
      "       [--window W] [--size BYTES] [--duration S] [--quiet-ms MS] [--drain-ms MS] [--settle S]\n" +
      "       [--server-pid PID] [--json]\n"
  );
  process.exit(code);
}

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0) {
      console.error("load.js: bad value for " + a);
      process.exit(2);
    }
    return v;
  };
  switch (a) {
    case "--url": opt.url = argv[++i]; break;
    case "--conns": opt.conns = num(); break;
    case "--ramp": opt.ramp = num(); break;
    case "--senders": opt.senders = num(); break;
    case "--rate": opt.rate = num(); break;
    case "--window": opt.window = num(); break;
    case "--size": opt.size = num(); break;
    case "--duration": opt.duration = num(); break;
    case "--quiet-ms": opt.quietMs = num(); break;
    case "--drain-ms": opt.drainMs = num(); break;
    case "--settle": opt.settle = num(); break;
    case "--server-pid": opt.serverPid = num(); break;
    case "--json": opt.json = true; break;
    case "--help": usage(0); break;
    default: usage(2);
  }
}
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(opt.url)) {
  console.error("load.js: --url must be http://127.x.y.z:PORT (loopback only)");
  process.exit(2);
}
opt.senders = Math.min(opt.senders, opt.conns);

// ---- histograms: yq-wsload's log-linear buckets (microseconds) ----
const H_LINEAR = 128, H_SUB = 64, H_EXP_MAX = 40;
const H_BUCKETS = H_LINEAR + (H_EXP_MAX - 7) * H_SUB;
function hist() {
  return { b: new Float64Array(H_BUCKETS), n: 0, max: 0 };
}
function histIndex(v) {
  if (v < H_LINEAR) return v;
  if (v >= 2 ** H_EXP_MAX) v = 2 ** H_EXP_MAX - 1;
  const e = Math.floor(Math.log2(v));
  const shift = e - 6;
  return H_LINEAR + (e - 7) * H_SUB + (Math.floor(v / 2 ** shift) - H_SUB);
}
function histValue(i) {
  if (i < H_LINEAR) return i;
  const e = Math.floor((i - H_LINEAR) / H_SUB) + 7, shift = e - 6;
  const m = ((i - H_LINEAR) % H_SUB) + H_SUB;
  return m * 2 ** shift + (2 ** shift) / 2;
}
function histAdd(h, v) {
  v = v < 0 ? 0 : Math.floor(v);
  h.b[histIndex(v)]++;
  h.n++;
  if (v > h.max) h.max = v;
}
function histQ(h, q) {
  if (!h.n) return 0;
  const want = Math.max(1, Math.ceil(q * h.n - 1e-6));
  let seen = 0;
  for (let i = 0; i < H_BUCKETS; i++) {
    seen += h.b[i];
    if (seen >= want) return Math.min(histValue(i), h.max);
  }
  return h.max;
}
function histJson(h, p999) {
  const o = { n: h.n, p50: histQ(h, 0.5), p90: histQ(h, 0.9), p99: histQ(h, 0.99) };
  if (p999) o.p999 = histQ(h, 0.999);
  o.max = h.max;
  return o;
}

// ---- clocks ----
const { performance } = require("perf_hooks");
const origin = performance.timeOrigin;
const epochUs = () => Math.round((origin + performance.now()) * 1000);
const monoMs = () => performance.now();

function procCpuS(pid) {
  try {
    const s = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch (e) {
    return -1;
  }
}
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync("/proc/" + pid + "/status", "utf8"));
    return m ? Number(m[1]) : -1;
  } catch (e) {
    return -1;
  }
}

// ---- the run ----
const st = {
  opened: 0, ready: 0, failed: 0, dropped: 0, sent: 0, acked: 0, skipped: 0,
  received: 0, receivedWindow: 0, other: 0,
  latency: hist(), ack: hist(), auth: hist(),
  perSecond: new Array(Math.ceil(opt.duration)).fill(0),
  closeReasons: {}, connectErrors: {}, maxLagMs: 0,
};
let phase = "ramp";
let runStart = 0, runEnd = 0, rampLen = 0;
let cpuStart, cpuEnd, srvCpuStart = -1, srvCpuEnd = -1, rssBefore = -1, rssEnd = -1;
const clients = [];
const pad = "x".repeat(2000);

function tally(t, k) {
  t[k] = (t[k] || 0) + 1;
}

function message(c) {
  const head = "t=" + epochUs() + ";seq=" + ++c.seq + ";s=" + c.idx + ";";
  return { text: head.length < opt.size ? head + pad.slice(0, opt.size - head.length) : head };
}

function send(c) {
  c.socket.emit("chat", message(c));
  c.outstanding++;
  st.sent++;
}

function onChat(c, p) {
  const now = epochUs();
  const text = p && typeof p.text === "string" ? p.text : "";
  if (text.charCodeAt(0) !== 116 /* t */) {
    st.other++;
    return;
  }
  const a = text.indexOf(";"), b = text.indexOf(";s=", a);
  const t = Number(text.slice(2, a));
  const s = Number(text.slice(b + 3, text.indexOf(";", b + 3)));
  if (s === c.idx && c.sender) {
    st.acked++;
    histAdd(st.ack, now - t);
    if (c.outstanding) c.outstanding--;
    if (opt.rate === 0 && phase === "run" && (!opt.window || c.outstanding < opt.window)) send(c);
    return;
  }
  st.received++;
  histAdd(st.latency, now - t);
  if (phase === "run") {
    st.receivedWindow++;
    const sec = Math.floor((monoMs() - runStart) / 1000);
    if (sec < st.perSecond.length) st.perSecond[sec]++;
  }
}

function open(idx) {
  const c = { idx, sender: idx < opt.senders, seq: 0, outstanding: 0, ready: false, closing: false };
  clients.push(c);
  const t0 = monoMs();
  st.opened++;
  const socket = io(opt.url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 30000 });
  c.socket = socket;
  socket.on("connect", () => {
    socket.emit("join", "bench", "bench" + idx, () => {
      c.ready = true;
      st.ready++;
      histAdd(st.auth, (monoMs() - t0) * 1000);
    });
  });
  socket.on("connect_error", (e) => {
    tally(st.connectErrors, String((e && e.message) || e).slice(0, 60));
    if (!c.ready && !c.failed) {
      c.failed = true;
      st.failed++;
    }
  });
  socket.on("disconnect", (reason) => {
    if (c.closing) return;
    tally(st.closeReasons, reason);
    if (c.ready) st.dropped++;
    else if (!c.failed) {
      c.failed = true;
      st.failed++;
    }
  });
  socket.on("chat", (p) => onChat(c, p));
}

function startRun() {
  phase = "run";
  runStart = monoMs();
  cpuStart = process.cpuUsage();
  if (opt.serverPid) srvCpuStart = procCpuS(opt.serverPid);
  for (const c of clients) {
    if (!c.sender || !c.ready) continue;
    if (opt.rate > 0) {
      // open loop: every ms, whatever is due; a full window skips
      const interval = 1000 / opt.rate;
      let next = runStart + (interval * c.idx) / Math.max(opt.senders, 1);
      c.timer = setInterval(() => {
        const now = monoMs();
        while (next <= now && phase === "run") {
          if (now - next > st.maxLagMs) st.maxLagMs = now - next;
          next += interval;
          if (opt.window && c.outstanding >= opt.window) st.skipped++;
          else send(c);
        }
      }, 1);
    } else {
      for (let i = 0; i < (opt.window || 1024) && phase === "run"; i++) send(c);
    }
  }
  setTimeout(endRun, opt.duration * 1000);
}

function endRun() {
  runEnd = monoMs();
  phase = "drain";
  cpuEnd = process.cpuUsage(cpuStart);
  if (opt.serverPid) {
    srvCpuEnd = procCpuS(opt.serverPid);
    rssEnd = rssKb(opt.serverPid);
  }
  for (const c of clients) if (c.timer) clearInterval(c.timer);
  setTimeout(finish, opt.drainMs);
}

function finish() {
  phase = "close";
  for (const c of clients) {
    c.closing = true;
    c.socket.close();
  }
  const runS = (runEnd - runStart) / 1000;
  const r = {
    type: "chat_message",
    conns: opt.conns,
    conns_ok: st.ready,
    conns_failed: st.failed,
    conns_dropped: st.dropped,
    close_codes: st.closeReasons,
    connect_errors: st.connectErrors,
    senders: clients.filter((c) => c.sender && c.ready).length,
    rate: opt.rate,
    window: opt.window,
    size: opt.size,
    sent: st.sent,
    acked: st.acked,
    skipped: st.skipped,
    received: st.received,
    received_in_window: st.receivedWindow,
    deliveries_per_s: runS > 0 ? Math.floor(st.receivedWindow / runS) : 0,
    deliveries_per_second: st.perSecond.slice(0, Math.floor(runS)),
    latency_us: histJson(st.latency, true),
    ack_us: histJson(st.ack, false),
    auth_us: histJson(st.auth, false),
    other_messages: st.other,
    ramp_s: rampLen,
    duration_s: runS,
    max_send_lag_us: opt.rate > 0 ? Math.round(st.maxLagMs * 1000) : undefined,
    client_cpu_pct: runS > 0 ? (100 * (cpuEnd.user + cpuEnd.system)) / 1e6 / runS : -1,
    versions: {
      node: process.versions.node,
      "socket.io-client": require("socket.io-client/package.json").version,
    },
  };
  if (opt.serverPid) {
    r.server = {
      pid: opt.serverPid,
      rss_before_kb: rssBefore,
      rss_end_kb: rssEnd,
      rss_per_conn_bytes: st.ready && rssEnd >= 0 && rssBefore >= 0 ? Math.floor(((rssEnd - rssBefore) * 1024) / st.ready) : -1,
      cpu_pct: runS > 0 && srvCpuStart >= 0 && srvCpuEnd >= srvCpuStart ? (100 * (srvCpuEnd - srvCpuStart)) / runS : -1,
    };
  }
  const human =
    `load.js: ${opt.conns} connections to ${opt.url}, ok ${st.ready} failed ${st.failed} dropped ${st.dropped}\n` +
    `  sent ${st.sent} acked ${st.acked} skipped ${st.skipped}; deliveries ${st.receivedWindow} in ${runS.toFixed(1)} s = ${r.deliveries_per_s}/s\n` +
    `  latency us p50 ${r.latency_us.p50} p99 ${r.latency_us.p99} max ${r.latency_us.max}; client cpu ${r.client_cpu_pct.toFixed(0)}%` +
    (r.server ? `; server cpu ${r.server.cpu_pct.toFixed(0)}%` : "") + "\n";
  if (opt.json) {
    process.stderr.write(human);
    process.stdout.write(JSON.stringify(r) + "\n");
  } else {
    process.stdout.write(human);
  }
  setTimeout(() => process.exit(st.ready ? 0 : 1), 200);
}

// ramp: --ramp connections a second, then wait until every one is ready
// or failed (at most conns/ramp + --settle seconds)
if (opt.serverPid) rssBefore = rssKb(opt.serverPid);
const rampStart = monoMs();
const rampTimer = setInterval(() => {
  const want = Math.min(opt.conns, Math.floor((opt.ramp * (monoMs() - rampStart)) / 1000) + 1);
  while (st.opened < want) open(st.opened);
  const settled = st.opened === opt.conns && st.ready + st.failed >= opt.conns;
  if (settled || monoMs() - rampStart > (opt.conns / opt.ramp + opt.settle) * 1000) {
    clearInterval(rampTimer);
    rampLen = (monoMs() - rampStart) / 1000;
    if (!settled) process.stderr.write("load.js: not every connection settled; measuring the rest\n");
    phase = "quiet";
    setTimeout(startRun, opt.quietMs);
  }
}, 10);
