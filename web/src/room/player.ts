// Drives one <video> from the room's playback timeline through the sync
// engine: every TICK_MS (and exactly when a scheduled command is due) it
// compares the video with where the room says it should be and applies
// the engine's decision.  It also measures the seek lead, reports sync
// health for heart_beat, and loads MP4/WebM natively and .m3u8 with
// hls.js (loaded on demand) when Hls.isSupported().
import { signal } from '@preact/signals';
import type Hls from 'hls.js';
import { clock, localNow, socket, type Health } from '../ws';
import { expectedPositionMs } from '../sync/playback';
import { decide, nextSeekLead, DEFAULT_SEEK_LEAD_MS, MAX_RESEEKS, SEEK_SETTLE_MS, type Decision } from '../sync/engine';
import type { RoomController } from './model';

const TICK_MS = 200;
/** Hold the engine at most this long while our own command is on its way. */
const HOLD_MAX_MS = 2000;
const HAVE_METADATA = 1;
/** Sync health we report stays within plausible ranges (doc/protocol.md range-checks them). */
const MAX_HEALTH_POSITION_MS = 86_400_000;
const MAX_HEALTH_DRIFT_MS = 60_000;
const HAVE_FUTURE_DATA = 3;

export function isHlsUrl(url: string): boolean {
  try {
    return /\.m3u8$/i.test(new URL(url).pathname);
  } catch {
    return false;
  }
}

export class PlayerDriver {
  readonly reason = signal<Decision['reason']>('idle');
  readonly driftMs = signal<number | null>(null);
  readonly needsGesture = signal(false);
  readonly error = signal<string | null>(null);
  readonly positionMs = signal(0);
  readonly durationMs = signal(0);
  readonly playing = signal(false);

  private timer: ReturnType<typeof setInterval> | undefined;
  private dueTimer: ReturnType<typeof setTimeout> | undefined;
  private loaded: string | null = null;
  private hls: Hls | null = null;
  private nudging = false;
  private seekLeadMs = DEFAULT_SEEK_LEAD_MS;
  private lastSeekedAtMs: number | null = null;
  private measureSeek = false;
  /** Re-seeks in a row after landings too far off (engine.ts RESEEK_MS). */
  private reseeks = 0;
  private holdUntil = 0;
  private waiting = false;
  private lastDrift: number | null = null;
  private offs: (() => void)[] = [];

  constructor(private ctl: RoomController, private video: HTMLVideoElement) {}

  start(): void {
    const v = this.video;
    const on = (ev: string, f: () => void) => {
      v.addEventListener(ev, f);
      this.offs.push(() => v.removeEventListener(ev, f));
    };
    on('seeked', () => {
      this.lastSeekedAtMs = localNow();
    });
    on('waiting', () => {
      this.waiting = true;
    });
    on('playing', () => {
      this.waiting = false;
      this.needsGesture.value = false;
    });
    on('canplay', () => {
      this.waiting = false;
    });
    on('timeupdate', () => this.show());
    on('durationchange', () => this.show());
    on('error', () => {
      this.error.value = v.error?.message || `code ${v.error?.code ?? '?'}`;
    });
    this.offs.push(this.ctl.playbackVersion.subscribe(() => this.tick()));
    this.offs.push(this.ctl.config.subscribe(() => this.tick()));
    socket.health = () => this.health();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.dueTimer);
    this.offs.forEach((f) => f());
    this.offs = [];
    socket.health = () => ({});
    this.unload();
  }

  /** A controller's command: hold the engine until the server's echo. */
  async command(payload: Record<string, unknown>): Promise<void> {
    this.holdUntil = localNow() + HOLD_MAX_MS;
    try {
      await socket.request('play_control', payload);
    } finally {
      this.holdUntil = 0;
      this.tick();
    }
  }

  /** Where the room is now (ms), for the controls. */
  roomPositionMs(): number {
    const s = this.ctl.timeline.at(clock.serverNow(localNow()));
    return s ? expectedPositionMs(s, clock.serverNow(localNow())) : 0;
  }

  /** After a click (autoplay refused without a gesture). */
  userStart(): void {
    this.needsGesture.value = false;
    this.video.play().catch(() => (this.needsGesture.value = true));
  }

  private show(): void {
    const v = this.video;
    this.positionMs.value = Math.round(v.currentTime * 1000);
    this.durationMs.value = Number.isFinite(v.duration) ? Math.round(v.duration * 1000) : 0;
    this.playing.value = !v.paused;
  }

  private health(): Health {
    if (!this.loaded) return {};
    const h: Health = { position_ms: Math.min(MAX_HEALTH_POSITION_MS, Math.max(0, Math.round(this.video.currentTime * 1000))), buffering: this.isBuffering() };
    // a drift of more than a minute is a seek in progress, not health
    if (this.lastDrift !== null && Math.abs(this.lastDrift) <= MAX_HEALTH_DRIFT_MS) h.drift_ms = Math.round(this.lastDrift);
    const rtt = clock.rttMs;
    if (rtt !== null) h.rtt_ms = Math.min(MAX_HEALTH_DRIFT_MS, Math.round(rtt));
    return h;
  }

  private isBuffering(): boolean {
    const v = this.video;
    return !!this.loaded && !v.paused && (this.waiting || v.readyState < HAVE_FUTURE_DATA);
  }

  private async load(url: string): Promise<void> {
    this.unload();
    this.loaded = url;
    this.error.value = null;
    const v = this.video;
    if (isHlsUrl(url)) {
      const { default: HlsCls } = await import('hls.js');
      if (this.loaded !== url) return;
      if (HlsCls.isSupported()) {
        const hls = new HlsCls();
        this.hls = hls;
        hls.loadSource(url);
        hls.attachMedia(v);
        return;
      }
      if (!v.canPlayType('application/vnd.apple.mpegurl')) {
        this.error.value = 'hls';
        return;
      }
    }
    v.src = url;
    v.load();
  }

  private unload(): void {
    this.hls?.destroy();
    this.hls = null;
    if (this.loaded) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    this.loaded = null;
    this.lastDrift = null;
    this.lastSeekedAtMs = null;
  }

  tick(): void {
    const cfg = this.ctl.config.value;
    const now = localNow();
    const serverNow = clock.serverNow(now);
    const st = this.ctl.timeline.at(serverNow);
    const v = this.video;
    const url = st?.media_url || null;
    if (url !== this.loaded) {
      if (url) void this.load(url);
      else this.unload();
    }
    // a scheduled command: be there on the dot
    clearTimeout(this.dueTimer);
    const due = this.ctl.timeline.msUntilPending(serverNow);
    if (due !== null && due < TICK_MS) this.dueTimer = setTimeout(() => this.tick(), due);

    if (!cfg || !cfg.sync_playback) {
      // everyone plays alone: the person drives the native controls
      v.controls = true;
      this.reason.value = 'idle';
      this.lastDrift = null;
      return;
    }
    v.controls = false;
    if (!st || !url || v.readyState < HAVE_METADATA) {
      this.reason.value = 'idle';
      return;
    }
    const started = st.state === 'playing' && serverNow >= st.updated_at_ms;
    let expected = expectedPositionMs(st, serverNow);
    const dur = Number.isFinite(v.duration) ? v.duration * 1000 : Infinity;
    const atEnd = expected >= dur;
    if (atEnd) expected = dur;
    // the first settled look after a playing seek says how late seeks land:
    // correct the lead first, so a re-seek of this landing uses it
    let landing = false;
    if (this.measureSeek && started && !atEnd && !v.seeking && !v.paused && !this.isBuffering() &&
        now >= this.holdUntil && this.lastSeekedAtMs !== null && now - this.lastSeekedAtMs >= SEEK_SETTLE_MS) {
      this.measureSeek = false;
      const err = v.currentTime * 1000 - expected;
      if (Math.abs(err) < 1000) this.seekLeadMs = nextSeekLead(this.seekLeadMs, err);
      landing = this.reseeks < MAX_RESEEKS;
    }
    const d = decide({
      expectedMs: expected,
      roomPlaying: started && !atEnd,
      roomRate: st.rate,
      actualMs: v.currentTime * 1000,
      localPaused: v.paused,
      localRate: v.playbackRate,
      seeking: v.seeking,
      buffering: this.isBuffering(),
      nowMs: now,
      lastSeekedAtMs: this.lastSeekedAtMs,
      holding: now < this.holdUntil,
      seekLeadMs: this.seekLeadMs,
      nudging: this.nudging,
      landing,
    });
    this.nudging = d.nudging;
    this.lastDrift = d.driftMs;
    this.driftMs.value = d.driftMs === null ? null : Math.round(d.driftMs);
    this.reason.value = d.reason;

    if (d.rate !== undefined) v.playbackRate = d.rate;
    if (d.seekToMs !== undefined) {
      v.currentTime = Math.max(0, d.seekToMs) / 1000;
      this.lastSeekedAtMs = null;
      this.measureSeek = started;
      this.reseeks = landing ? this.reseeks + 1 : 0;
    }
    if (d.play === true) {
      v.play().catch((e: DOMException) => {
        if (e?.name === 'NotAllowedError') this.needsGesture.value = true;
      });
    } else if (d.play === false) v.pause();
  }
}
