// drift.mjs - the statistics of the browser sync benchmark (scenario 9),
// pure functions over what the pages recorded, so they can be checked on
// synthetic data (drift.test.mjs) without a browser.
//
// A page's frames: [{t, m}] sorted by t, one per frame the page presented
// (requestVideoFrameCallback): t = performance.timeOrigin +
// metadata.expectedDisplayTime (the wall clock, ms, by the page's own
// clock), m = metadata.mediaTime in ms.  A page's states: [{t, ct, paused}]
// sampled every 50 ms (currentTime in ms), for what frames cannot show (a
// paused video presents none).

// The gap between two frames above which a page's position is unknown
// between them (a stall, a pause, a reload): 30 fps is 33 ms a frame.
export const MAX_FRAME_GAP_MS = 120;

// Media time at wall time t by linear interpolation between the frames
// around it, or null: before the first or after the last frame, across a
// gap, or across a jump (a seek: media time moving at other than about the
// playback rate, 0.5x-2x).
export function positionAt(frames, t, maxGap = MAX_FRAME_GAP_MS) {
  let lo = 0;
  let hi = frames.length - 1;
  if (hi < 1 || t < frames[0].t || t > frames[hi].t) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (frames[mid].t <= t) lo = mid;
    else hi = mid;
  }
  const a = frames[lo];
  const b = frames[hi];
  const dt = b.t - a.t;
  if (dt > maxGap) return null;
  if (dt <= 0) return a.m;
  const dm = b.m - a.m;
  if (dm < 0.5 * dt - 5 || dm > 2 * dt + 5) return null;
  return a.m + (dm * (t - a.t)) / dt;
}

// The latest state sample at or before t, if it is at most maxAge old.
export function stateAt(states, t, maxAge = 200) {
  let lo = 0;
  let hi = states.length - 1;
  if (hi < 0 || t < states[0].t) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (states[mid].t <= t) lo = mid;
    else hi = mid - 1;
  }
  const s = states[lo];
  return t - s.t <= maxAge ? s : null;
}

// The page's player clock at wall time t: the latest currentTime sample
// (at most maxAge old) carried forward at its playbackRate, or null (no
// fresh sample, paused, or not playing forward).  Unlike the presented
// frames this has sub-frame resolution: it is what the sync engine steers,
// before Chromium quantises it to the frames it shows at each vsync.
export function clockAt(states, t, maxAge = 100) {
  const s = stateAt(states, t, maxAge);
  const rate = s?.rate ?? 1;
  if (!s || s.paused || !(rate > 0)) return null;
  return s.ct + (t - s.t) * rate;
}

// Where the room says the media is at wall time t, from the states the
// server broadcast (events[].room = {state, position_ms, rate, at}, at =
// its updated_at_ms on the same machine's clock), or null before any.
export function roomAt(events, t) {
  let r = null;
  for (const e of events) if (e.room && e.room.at <= t) r = e.room;
  if (!r) return null;
  return r.state === 'playing' ? r.position_ms + (t - r.at) * (r.rate ?? 1) : r.position_ms;
}

// Instants from t0 to t1 every step ms.
export function grid(t0, t1, step = 50) {
  const out = [];
  for (let t = t0; t <= t1; t += step) out.push(t);
  return out;
}

// At each instant: every page's position (null where unknown) and the
// pairwise absolute differences between the pages that have one.
export function pairwise(pages, instants) {
  return instants.map((t) => {
    const pos = pages.map((p) => positionAt(p.frames, t));
    const drifts = [];
    for (let i = 0; i < pos.length; i++) {
      for (let j = i + 1; j < pos.length; j++) {
        if (pos[i] !== null && pos[j] !== null) drifts.push(Math.abs(pos[i] - pos[j]));
      }
    }
    const all = pos.every((x) => x !== null);
    return { t, pos, drifts, all, max: drifts.length ? Math.max(...drifts) : null };
  });
}

// The same as pairwise, on the pages' player clocks (clockAt).
export function clockPairwise(pages, instants) {
  return instants.map((t) => {
    const pos = pages.map((p) => clockAt(p.states || [], t));
    const drifts = [];
    for (let i = 0; i < pos.length; i++) {
      for (let j = i + 1; j < pos.length; j++) {
        if (pos[i] !== null && pos[j] !== null) drifts.push(Math.abs(pos[i] - pos[j]));
      }
    }
    return { t, pos, drifts, all: pos.every((x) => x !== null), max: drifts.length ? Math.max(...drifts) : null };
  });
}

// Nearest-rank percentile of an ascending array (q in 0..1).
export function percentile(sorted, q) {
  if (!sorted.length) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k];
}

export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: round(percentile(s, 0.5)),
    p95: round(percentile(s, 0.95)),
    p99: round(percentile(s, 0.99)),
    max: round(s.length ? s[s.length - 1] : null),
  };
}

// p5/p50/p95 of signed values (a page's presented frame minus its clock).
export function signedSummary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p5: round(percentile(s, 0.05)), p50: round(percentile(s, 0.5)), p95: round(percentile(s, 0.95)) };
}

function round(x) {
  return x === null || x === undefined ? null : Math.round(x * 100) / 100;
}

// Time from tEvent until the pages are in sync again and stay so for
// holdMs: every page has a position, every pairwise drift is at most
// thresholdMs and (after a seek or a resume) every position is at least
// minPos - thresholdMs, i.e. the pages landed where they were sent rather
// than agreeing somewhere else.  null: never within the instants.
export function resyncPlaying(rows, tEvent, { thresholdMs = 33, holdMs = 1000, minPos = null } = {}) {
  const ok = (r) =>
    r.all && r.max !== null && r.max <= thresholdMs &&
    (minPos === null || r.pos.every((p) => p >= minPos - thresholdMs));
  return firstHeld(rows.filter((r) => r.t >= tEvent), ok, holdMs, tEvent);
}

// After a pause: every page paused, at positions within thresholdMs of
// each other, for holdMs.
export function resyncPaused(pages, instants, tEvent, { thresholdMs = 33, holdMs = 1000 } = {}) {
  const rows = instants.filter((t) => t >= tEvent).map((t) => {
    const s = pages.map((p) => stateAt(p.states, t));
    if (s.some((x) => x === null || !x.paused)) return { t, ok: false };
    const ct = s.map((x) => x.ct);
    return { t, ok: Math.max(...ct) - Math.min(...ct) <= thresholdMs };
  });
  return firstHeld(rows, (r) => r.ok, holdMs, tEvent);
}

function firstHeld(rows, ok, holdMs, tEvent) {
  let start = null;
  for (const r of rows) {
    if (ok(r)) {
      if (start === null) start = r.t;
      if (r.t - start >= holdMs) return start - tEvent;
    } else {
      start = null;
    }
  }
  return null;
}

// The whole analysis.  events: [{t, kind: start|seek|pause|play|reload,
// position_ms}] sorted by t; t0/t1 the measured span.  Steady state is
// every instant while playing where every page has a position, outside
// [event, event + its re-sync time + holdMs] (the re-sync itself, and the
// hold that defines it, are not steady state); an event that never
// re-syncs excludes everything up to the next one.
export function analyse(pages, events, t0, t1, opts = {}) {
  const step = opts.stepMs ?? 50;
  const thresholdMs = opts.thresholdMs ?? 33;
  const holdMs = opts.holdMs ?? 1000;
  const instants = grid(t0, t1, step);
  const rows = pairwise(pages, instants);
  const crows = clockPairwise(pages, instants);
  const resync = [];
  const excluded = [];
  let paused = false;
  const pausedSpans = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const next = i + 1 < events.length ? events[i + 1].t : t1;
    const upto = rows.filter((r) => r.t < next);
    let ms;
    if (e.kind === 'pause') {
      ms = resyncPaused(pages, instants.filter((t) => t < next), e.t, { thresholdMs, holdMs });
      paused = true;
    } else {
      const minPos = e.kind === 'seek' || e.kind === 'play' || e.kind === 'start' ? e.position_ms ?? null : null;
      ms = resyncPlaying(upto, e.t, { thresholdMs, holdMs, minPos });
      if (e.kind === 'play' || e.kind === 'start' || e.kind === 'seek') paused = false;
    }
    // the same on the player clocks (a diagnostic: a pause is judged on
    // the paused positions either way)
    const cms = e.kind === 'pause' ? ms : resyncPlaying(crows.filter((r) => r.t < next), e.t,
      { thresholdMs, holdMs, minPos: e.kind === 'seek' || e.kind === 'play' || e.kind === 'start' ? e.position_ms ?? null : null });
    if (paused) pausedSpans.push([e.t, next]);
    resync.push({ kind: e.kind, t: e.t, page: e.page ?? null, resync_ms: ms === null ? null : Math.round(ms),
      clock_resync_ms: cms === null ? null : Math.round(cms) });
    excluded.push([e.t, ms === null ? next : Math.min(next, e.t + ms + holdMs)]);
  }
  const inSpan = (t, spans) => spans.some(([a, b]) => t >= a && t < b);
  const playingRows = rows.filter((r) => !inSpan(r.t, pausedSpans));
  const everyPair = [];
  const steadyPair = [];
  const steadyMax = [];
  // diagnostics at the same steady instants: the player clocks' pairwise
  // drift (currentTime, sub-frame), and per page how far the presented
  // frame is from its own player clock (the presentation's quantisation)
  const clockPair = [];
  const present = pages.map(() => []);
  // and, where the server's states are known: each page's clock against the
  // room's position (its real error), and the error the page's own engine
  // reports minus that (what its clock-offset estimate gets wrong)
  const roomErr = pages.map(() => []);
  const engineErr = pages.map(() => []);
  for (const r of playingRows) {
    everyPair.push(...r.drifts);
    if (r.all && r.drifts.length && !inSpan(r.t, excluded)) {
      steadyPair.push(...r.drifts);
      steadyMax.push(r.max);
      const c = pages.map((p) => clockAt(p.states || [], r.t));
      const room = roomAt(events, r.t);
      for (let i = 0; i < c.length; i++) {
        if (c[i] !== null) present[i].push(r.pos[i] - c[i]);
        if (c[i] !== null && room !== null) {
          roomErr[i].push(c[i] - room);
          const s = stateAt(pages[i].states || [], r.t, 100);
          if (s && typeof s.engine === 'number') engineErr[i].push(s.engine - (c[i] - room));
        }
        for (let j = i + 1; j < c.length; j++) if (c[i] !== null && c[j] !== null) clockPair.push(Math.abs(c[i] - c[j]));
      }
    }
  }
  return {
    step_ms: step,
    threshold_ms: thresholdMs,
    hold_ms: holdMs,
    steady: summary(steadyPair),
    steady_worst_pair: summary(steadyMax),
    playing: summary(everyPair),
    steady_s: Math.round((steadyMax.length * step) / 100) / 10,
    steady_clock: summary(clockPair),
    presentation: present.map((v) => signedSummary(v)),
    room_error: roomErr.map((v) => signedSummary(v)),
    engine_error: engineErr.map((v) => signedSummary(v)),
    resync,
  };
}
