// Clock offset estimator (NTP-style) fed by heart_beat round trips.
//
// Each heart_beat reply gives one sample: we sent at t0 (our clock), the
// server stamped server_ts, we received at t1.  Assuming a symmetric path,
// offset = server_ts - (t0 + t1) / 2, with an error of at most rtt / 2.  A
// sample that sat in a queue (a busy event loop, a retransmission) has a
// large rtt and a wrong offset, so, as NTP's clock filter does, we keep a
// sliding window of recent samples and trust the one with the lowest rtt.
// The window slides so a real change (a suspended laptop, a clock step)
// is followed within WINDOW samples.

export const WINDOW = 12; // ~1 min of history at one heart_beat per 5 s
export const MAX_PLAUSIBLE_RTT_MS = 10_000; // older replies are useless

export interface ClockSample {
  offsetMs: number;
  rttMs: number;
  atMs: number; // local receive time
}

export class ClockEstimator {
  private samples: ClockSample[] = [];

  /** t0: local send time, serverTs: the server's stamp, t1: local receive time. */
  add(t0: number, serverTs: number, t1: number): ClockSample | null {
    const rtt = t1 - t0;
    if (!Number.isFinite(rtt) || rtt < 0 || rtt > MAX_PLAUSIBLE_RTT_MS) return null;
    const s = { offsetMs: serverTs - (t0 + t1) / 2, rttMs: rtt, atMs: t1 };
    this.samples.push(s);
    if (this.samples.length > WINDOW) this.samples.shift();
    return s;
  }

  /** A rough sample when no round trip is known (a server message's ts). */
  seed(serverTs: number, localMs: number): void {
    if (this.samples.length === 0) this.samples.push({ offsetMs: serverTs - localMs, rttMs: MAX_PLAUSIBLE_RTT_MS, atMs: localMs });
  }

  get ready(): boolean {
    return this.samples.some((s) => s.rttMs < MAX_PLAUSIBLE_RTT_MS);
  }

  private best(): ClockSample | null {
    let b: ClockSample | null = null;
    for (const s of this.samples) if (!b || s.rttMs < b.rttMs) b = s;
    return b;
  }

  /** server clock - local clock, in ms (0 before any sample). */
  get offsetMs(): number {
    return this.best()?.offsetMs ?? 0;
  }

  /** The best round trip in the window (what we report as rtt_ms). */
  get rttMs(): number | null {
    const b = this.best();
    return b && b.rttMs < MAX_PLAUSIBLE_RTT_MS ? b.rttMs : null;
  }

  serverNow(localMs: number): number {
    return localMs + this.offsetMs;
  }

  toLocal(serverMs: number): number {
    return serverMs - this.offsetMs;
  }

  reset(): void {
    this.samples = [];
  }
}
