// The statistics of scenario 9 on synthetic pages whose drift is known.
// node --test tests/bench/browser/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyse, clockAt, pairwise, roomAt, percentile, positionAt, resyncPaused, resyncPlaying, stateAt, summary, grid,
} from './drift.mjs';

// Frames of a page playing from wall time `from` to `to` at 30 fps, media
// position `m0` at `from`, `offset` ms ahead of the truth.
function play(from, to, m0, offset = 0, rate = 1) {
  const out = [];
  for (let t = from; t <= to; t += 1000 / 30) out.push({ t, m: m0 + (t - from) * rate + offset });
  return out;
}

function states(from, to, ct, paused) {
  const out = [];
  for (let t = from; t <= to; t += 50) out.push({ t, ct: typeof ct === 'function' ? ct(t) : ct, paused });
  return out;
}

test('positionAt interpolates between frames and refuses gaps and jumps', () => {
  const f = [{ t: 0, m: 1000 }, { t: 33, m: 1033 }, { t: 66, m: 1066 }];
  assert.equal(positionAt(f, 16.5), 1016.5);
  assert.equal(positionAt(f, -1), null);
  assert.equal(positionAt(f, 67), null);
  // a 500 ms hole: unknown inside it
  assert.equal(positionAt([{ t: 0, m: 0 }, { t: 500, m: 500 }], 250), null);
  // a seek between two frames: media jumps 20 s in 33 ms
  assert.equal(positionAt([{ t: 0, m: 0 }, { t: 33, m: 20000 }], 10), null);
  // a frame shown twice (media does not move): not playback either
  assert.equal(positionAt([{ t: 0, m: 0 }, { t: 33, m: 0 }], 10), null);
});

test('stateAt takes the latest sample, not a stale one', () => {
  const s = [{ t: 0, ct: 1 }, { t: 50, ct: 2 }, { t: 100, ct: 3 }];
  assert.equal(stateAt(s, 75).ct, 2);
  assert.equal(stateAt(s, 100).ct, 3);
  assert.equal(stateAt(s, 400), null);
  assert.equal(stateAt(s, -5), null);
});

test('percentile is nearest-rank', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(v, 0.5), 50);
  assert.equal(percentile(v, 0.95), 95);
  assert.equal(percentile(v, 1), 100);
  assert.equal(percentile([], 0.5), null);
  assert.deepEqual(summary([3, 1, 2]), { n: 3, p50: 2, p95: 3, p99: 3, max: 3 });
});

test('pairwise drift of pages with fixed offsets is the offsets\' differences', () => {
  const pages = [0, 10, 25].map((o) => ({ frames: play(0, 5000, 0, o), states: [] }));
  const rows = pairwise(pages, grid(100, 4900, 100));
  for (const r of rows) {
    assert.equal(r.all, true);
    const d = r.drifts.map((x) => Math.round(x)).sort((a, b) => a - b);
    assert.deepEqual(d, [10, 15, 25]);
  }
});

test('a page that drifts linearly shows up in the percentiles', () => {
  // page 1 runs 1% fast: 0 ms ahead at t=0, 100 ms at t=10 s
  const pages = [{ frames: play(0, 10000, 0), states: [] }, { frames: play(0, 10000, 0, 0, 1.01), states: [] }];
  const r = analyse(pages, [], 0, 10000, { stepMs: 100 });
  assert.ok(Math.abs(r.steady.p50 - 50) <= 1.5, `p50 ${r.steady.p50}`);
  assert.ok(Math.abs(r.steady.max - 100) <= 1.5, `max ${r.steady.max}`);
  assert.ok(r.steady.p95 > 90 && r.steady.p95 <= 100);
});

test('resync after a seek: pages that land late count from the command', () => {
  // a seek to 40 s at t=10 s: page 0 lands at once, page 1 plays the old
  // position until 10.6 s, then lands 20 ms behind and catches up at 11.2 s
  const p0 = [...play(0, 10000, 0), ...play(10050, 20000, 40050)];
  const p1 = [...play(0, 10600, 0), ...play(10650, 11200, 40650 - 20), ...play(11233, 20000, 41233)];
  const pages = [{ frames: p0, states: [] }, { frames: p1, states: [] }];
  const rows = pairwise(pages, grid(0, 20000, 50));
  const ms = resyncPlaying(rows, 10000, { thresholdMs: 15, holdMs: 1000, minPos: 40000 });
  assert.ok(ms >= 1200 && ms <= 1300, `resync ${ms}`);
  // with a threshold the 20 ms lag passes, the landing at 10.65 s is it
  const ms2 = resyncPlaying(rows, 10000, { thresholdMs: 33, holdMs: 1000, minPos: 40000 });
  assert.ok(ms2 >= 650 && ms2 <= 700, `resync ${ms2}`);
  // agreeing on the old position is not a re-sync
  const stuck = [{ frames: play(0, 20000, 0), states: [] }, { frames: play(0, 20000, 0), states: [] }];
  assert.equal(resyncPlaying(pairwise(stuck, grid(0, 20000, 50)), 10000, { minPos: 40000 }), null);
});

test('resync after a pause needs every page paused at one position', () => {
  const pages = [
    { frames: [], states: [...states(0, 5000, (t) => t, false), ...states(5050, 9000, 5000, true)] },
    { frames: [], states: [...states(0, 5400, (t) => t, false), ...states(5450, 6000, 5400, true),
      ...states(6050, 9000, 5010, true)] },
  ];
  const ms = resyncPaused(pages, grid(0, 9000, 50), 5000, { thresholdMs: 33, holdMs: 1000 });
  assert.equal(ms, 1050); // page 1 paused at the wrong place, then sought back at 6.05 s
  const never = [{ frames: [], states: states(0, 9000, (t) => t, false) }];
  assert.equal(resyncPaused(never, grid(0, 9000, 50), 5000), null);
});

test('analyse: steady state leaves out the re-syncs, a reload is measured on the page that reloaded', () => {
  const off = 5;
  // three pages; page 2 reloads at 20 s and is back (in sync) at 23 s
  const a = play(0, 40000, 0);
  const b = play(0, 40000, 0, off);
  const c = [...play(0, 20000, 0, 2 * off), ...play(23000, 40000, 23000, 0)];
  // page 2 before it is in sync again: 300 ms off for a while
  const cLate = [...play(0, 20000, 0, 2 * off), ...play(22000, 22900, 22000 - 300), ...play(23000, 40000, 23000)];
  const ev = [{ t: 0, kind: 'start', position_ms: 0 }, { t: 20000, kind: 'reload', page: 2 }];
  for (const c3 of [c, cLate]) {
    const pages = [a, b, c3].map((frames) => ({ frames, states: [] }));
    const r = analyse(pages, ev, 0, 40000, { stepMs: 50 });
    const reload = r.resync.find((x) => x.kind === 'reload');
    assert.ok(reload.resync_ms >= 3000 && reload.resync_ms <= 3050, `reload ${reload.resync_ms}`);
    assert.equal(r.resync[0].resync_ms, 0);
    assert.ok(r.steady.max <= 2 * off + 0.01, `steady max ${r.steady.max}`);
    assert.ok(r.playing.max >= (c3 === cLate ? 300 : 2 * off) - 0.01);
  }
});

test('analyse: a pause is not counted as drift, the resume is measured', () => {
  const run = (o) => [...play(0, 10000, 0, o), ...play(15000, 25000, 10000, o)];
  const st = (o) => [...states(0, 10000, (t) => t + o, false), ...states(10050, 14950, 10000, true),
    ...states(15000, 25000, (t) => t - 5000 + o, false)];
  const pages = [0, 12].map((o) => ({ frames: run(o), states: st(o) }));
  const ev = [{ t: 0, kind: 'start', position_ms: 0 }, { t: 10000, kind: 'pause', position_ms: 10000 },
    { t: 15000, kind: 'play', position_ms: 10000 }];
  const r = analyse(pages, ev, 0, 25000);
  assert.equal(r.resync[1].kind, 'pause');
  assert.equal(r.resync[1].resync_ms, 50);
  assert.equal(r.resync[2].resync_ms, 0);
  assert.ok(Math.abs(r.steady.p50 - 12) < 0.01 && Math.abs(r.steady.max - 12) < 0.01);
});

// Frames as Chromium presents them: the player clock runs continuously
// (ct = t - lag), a frame is shown from the first 60 Hz vsync at which the
// clock has reached its media time, and its display time is that vsync.
function presented(from, to, lag, vsyncPhase = 0) {
  const vs = 1000 / 60;
  const out = [];
  let k = Math.ceil((from - lag) / (1000 / 30));
  for (let n = Math.ceil((from - vsyncPhase) / vs); n * vs + vsyncPhase <= to; n++) {
    const t = n * vs + vsyncPhase;
    if (t - lag >= k * (1000 / 30)) {
      out.push({ t, m: k * (1000 / 30) });
      k++;
    }
  }
  return out;
}

test('clockAt carries the latest sample forward at its rate; paused or stale is unknown', () => {
  const s = [{ t: 0, ct: 1000, paused: false, rate: 1 }, { t: 50, ct: 1050, paused: false, rate: 0.5 }];
  assert.equal(clockAt(s, 90), 1070);
  assert.equal(clockAt(s, 400), null);
  assert.equal(clockAt([{ t: 0, ct: 5, paused: true, rate: 1 }], 10), null);
});

test('analyse: the player clocks\' drift is sub-frame where the presented frames are quantised to vsyncs', () => {
  // two clocks 4 ms apart, on one vsync grid (one browser): the 4 ms make
  // the second page reach each frame one vsync later
  const lags = [0, 4];
  const phases = [0, 0];
  const pages = lags.map((lag, i) => ({
    frames: presented(0, 20000, lag, phases[i]),
    states: states(0, 20000, (t) => t - lag, false).map((x) => ({ ...x, rate: 1 })),
  }));
  const r = analyse(pages, [{ t: 0, kind: 'start', position_ms: 0 }], 0, 20000);
  // the clocks: 4 ms apart at every instant
  assert.ok(Math.abs(r.steady_clock.p50 - 4) < 0.01 && Math.abs(r.steady_clock.max - 4) < 0.01, JSON.stringify(r.steady_clock));
  // what is shown: a whole vsync apart (16.7 ms) at every instant, not 4 ms
  assert.ok(Math.abs(r.steady.p50 - 1000 / 60) < 0.5, JSON.stringify(r.steady));
  // by the clocks the pages are in sync from the start
  assert.equal(r.resync[0].clock_resync_ms, 0);
  // each page shows frames behind its own clock, by less than a frame
  for (const p of r.presentation) {
    assert.ok(p.n > 0 && p.p5 > -1000 / 30 - 0.01 && p.p95 <= 0.01, JSON.stringify(p));
  }
});

test('roomAt follows the server\'s broadcast states; the diagnostics compare each page with it', () => {
  const ev = [{ t: 0, kind: 'start', position_ms: 0, room: { state: 'playing', position_ms: 0, rate: 1, at: 10 } },
    { t: 5000, kind: 'pause', position_ms: 4990, room: { state: 'paused', position_ms: 4990, rate: 1, at: 5000 } }];
  assert.equal(roomAt(ev, 5), null);
  assert.equal(roomAt(ev, 1010), 1000);
  assert.equal(roomAt(ev, 7000), 4990);
  // one page 6 ms ahead of the room whose engine (by its clock estimate)
  // believes it is 4 ms ahead: its estimate is 2 ms off
  const st = states(0, 4900, (t) => t - 10 + 6, false).map((x) => ({ ...x, rate: 1, engine: 4 }));
  const pages = [{ frames: play(10, 4900, 0, 6), states: st }, { frames: play(10, 4900, 0, 6), states: st }];
  const r = analyse(pages, ev.slice(0, 1), 0, 4900);
  assert.equal(r.room_error[0].p50, 6);
  assert.equal(r.engine_error[1].p50, -2);
});
