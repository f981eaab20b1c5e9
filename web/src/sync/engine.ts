// The sync engine: given where the room says the media should be and where
// our <video> is, decide what to do.  Pure: numbers in, one Decision out;
// the player module applies it.  Unit-tested on recorded sequences
// (engine.test.ts).
//
// drift = actual - expected (ms; > 0 means we are ahead).
//
//  |drift| <= NUDGE_STOP_MS          in sync: play at the room's rate
//  NUDGE_START_MS < |drift| < SEEK_MS  nudge playbackRate, proportional to the
//                                    drift, at most ±MAX_NUDGE, until |drift|
//                                    falls under NUDGE_STOP_MS (hysteresis: the
//                                    start and stop thresholds differ so we do
//                                    not toggle around one value)
//  |drift| >= SEEK_MS                seek, leading the target by the measured
//                                    seek cost so we land on time
//
// Compared with Jellyfin SyncPlay (speed-to-sync above 60 ms, skip-to-sync
// above 400 ms) we start nudging much earlier (10 ms) and stop only at 3 ms:
// the goal is one frame (33 ms at 30 fps) between any two viewers, and
// Chromium's presentation adds up to a frame or more of its own to each
// page (it shows a frame up to a vsync or two off its currentTime, see
// doc/benchmarks.md, scenario 9), so every page's clock must sit well inside
// that budget, not anywhere within ±35 ms of it (the first thresholds, 35/12
// ms, left pages 10–35 ms apart for good: scenario 9 measured it).  A 10 ms
// error is a 2 % nudge for half a second: inaudible with pitch preserved,
// invisible.  We seek earlier than Syncplay (which slows to 0.95x only 1.5 s
// ahead and rewinds 4 s ahead) but later than Jellyfin: at ±10 % a 400 ms
// error closes in about 4 s without a visible jump, and a seek costs a
// visible stall of its own (Chromium needs 50–150 ms to decode from the
// previous key frame), so up to 500 ms we nudge; beyond it a seek (with its
// lead) is faster.
// Seeks are followed by a settle time in which no new decision is taken, so
// a seek still in flight is never "corrected" by another seek.

export const NUDGE_START_MS = 10;
export const NUDGE_STOP_MS = 3;
export const SEEK_MS = 500;
/**
 * Starting from a stop (a resume, a late joiner) with more than this error,
 * seek instead of play-and-nudge; a seek from a stop shows nothing wrong.
 */
export const START_SEEK_MS = 35;
/**
 * The first settled look after our own seek (a "landing") that is farther
 * off than this seeks again at once, with the lead just corrected by that
 * landing, instead of nudging: the picture has just jumped anyway, and at
 * the 10 % cap a nudge needs over a second per 100 ms.  Scenario 9 saw a
 * reloaded page land 284 ms behind and nudge for 3 s.  The player allows
 * MAX_RESEEKS of them in a row, so a machine whose seeks scatter cannot
 * make it seek forever.
 */
export const RESEEK_MS = 100;
export const MAX_RESEEKS = 1;
/** A paused video farther than this from the room's position is re-seeked. */
export const PAUSED_SEEK_MS = 24;
/**
 * Rate correction per ms of drift: the error is closed in about half a
 * second, so 20 ms -> 4 %, 50 ms and more -> the 10 % cap.  With a 200 ms
 * tick each look removes two fifths of the error: no overshoot.  (1/1000,
 * Jellyfin's one second, made the re-sync after a seek take 1.5–2 s.)
 */
export const NUDGE_GAIN_PER_MS = 1 / 500;
export const MAX_NUDGE = 0.1;
/**
 * After a seek, wait this long (from 'seeked') before judging drift again.
 * In scenario 9 every page's clock ran at the room's rate from the first
 * sample after 'seeked' (50 ms), so 250 ms is ample; it was 400 ms, which
 * only delayed the correction.
 */
export const SEEK_SETTLE_MS = 250;
/**
 * Initial seek lead before any seek was measured: a seek while playing
 * costs Chromium 50–150 ms on an idle machine and 130–200 ms at a load of 7
 * on 2 cores (scenario 9: with a 60 ms lead five pages landed 70–137 ms
 * behind).  120 ms is the middle of that range; nextSeekLead learns the
 * machine's own cost from the first seek on.
 */
export const DEFAULT_SEEK_LEAD_MS = 120;
export const MAX_SEEK_LEAD_MS = 1000;
/** Weight of a new landing error in the seek lead's moving average. */
export const SEEK_LEAD_ALPHA = 0.5;

export interface EngineInput {
  /** Where the room says we should be now (ms), null: no media / not following. */
  expectedMs: number | null;
  /** True if the room is playing and its start time has come. */
  roomPlaying: boolean;
  /** The room's rate. */
  roomRate: number;
  /** Our video: position (ms), paused, current playbackRate. */
  actualMs: number;
  localPaused: boolean;
  localRate: number;
  /** The video is seeking or waiting for data (readyState < HAVE_FUTURE_DATA). */
  seeking: boolean;
  buffering: boolean;
  /** Local ms clock now and of the last 'seeked' (null: none yet). */
  nowMs: number;
  lastSeekedAtMs: number | null;
  /** Our own command is on its way: hold still, do not fight it. */
  holding: boolean;
  /** Measured seek lead (ms). */
  seekLeadMs: number;
  /** Currently nudging (state kept by the caller, returned in Decision). */
  nudging: boolean;
  /** This is the first settled look after our own seek, and a re-seek is allowed. */
  landing?: boolean;
}

export interface Decision {
  /** Seek the video to this position (ms), if set. */
  seekToMs?: number;
  /** Set playbackRate to this, if set. */
  rate?: number;
  /** Start or stop the video, if set. */
  play?: boolean;
  /** Nudging state to keep for the next call. */
  nudging: boolean;
  /** actual - expected, for sync health (null: nothing to compare). */
  driftMs: number | null;
  /** Why (for the debug line and the tests). */
  reason: 'idle' | 'hold' | 'buffering' | 'settling' | 'paused' | 'in_sync' | 'nudge' | 'seek';
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-3;

export function decide(i: EngineInput): Decision {
  if (i.expectedMs === null) return { nudging: false, driftMs: null, reason: 'idle' };
  const drift = i.actualMs - i.expectedMs;
  if (i.holding) return { nudging: false, driftMs: drift, reason: 'hold' };

  if (!i.roomPlaying) {
    // Paused room: stop and stand exactly at the position.  Small errors
    // are seeked away too (there is no playback to nudge), but only past
    // one frame, so a paused video is not re-seeked for nothing.
    const d: Decision = { nudging: false, driftMs: drift, reason: 'paused' };
    if (!i.localPaused) d.play = false;
    if (!i.seeking && Math.abs(drift) > PAUSED_SEEK_MS) {
      d.seekToMs = i.expectedMs;
      d.reason = 'seek';
    }
    if (!close(i.localRate, i.roomRate)) d.rate = i.roomRate;
    return d;
  }

  if (i.seeking || i.buffering) {
    // Waiting for data: keep wanting to play, change nothing else; the
    // drift is judged again once frames flow.
    const d: Decision = { nudging: false, driftMs: drift, reason: 'buffering' };
    if (i.localPaused) d.play = true;
    return d;
  }
  if (i.lastSeekedAtMs !== null && i.nowMs - i.lastSeekedAtMs < SEEK_SETTLE_MS) {
    const d: Decision = { nudging: false, driftMs: drift, reason: 'settling' };
    if (i.localPaused) d.play = true;
    return d;
  }

  const ad = Math.abs(drift);
  const d: Decision = { nudging: false, driftMs: drift, reason: 'in_sync' };
  if (i.localPaused) d.play = true;
  if (ad >= SEEK_MS || (i.localPaused && ad > START_SEEK_MS) || (i.landing && ad > RESEEK_MS)) {
    // Far off (or about to start from a stop): jump, landing where the room
    // will be when the seek completes.
    d.seekToMs = i.expectedMs + i.seekLeadMs * i.roomRate;
    d.reason = 'seek';
    if (!close(i.localRate, i.roomRate)) d.rate = i.roomRate;
    return d;
  }
  const nudge = i.nudging ? ad > NUDGE_STOP_MS : ad > NUDGE_START_MS;
  if (nudge) {
    const k = Math.min(MAX_NUDGE, ad * NUDGE_GAIN_PER_MS);
    const want = i.roomRate * (drift > 0 ? 1 - k : 1 + k);
    d.nudging = true;
    d.reason = 'nudge';
    if (!close(i.localRate, want)) d.rate = want;
    return d;
  }
  if (!close(i.localRate, i.roomRate)) d.rate = i.roomRate;
  return d;
}

/**
 * The seek lead: how far ahead of the target to aim so that, after the
 * seek's own latency, we land on the room's position.  After each seek the
 * player measures where it landed against where it should be (landing
 * error, ms, > 0 = ahead) and the lead moves by SEEK_LEAD_ALPHA of it.
 */
export function nextSeekLead(leadMs: number, landingErrorMs: number): number {
  const next = leadMs - SEEK_LEAD_ALPHA * landingErrorMs;
  return Math.min(MAX_SEEK_LEAD_MS, Math.max(0, next));
}
