import { describe, expect, it } from 'vitest';
import { ClockEstimator, WINDOW, MAX_PLAUSIBLE_RTT_MS } from './clock';

describe('ClockEstimator', () => {
  it('computes offset from a symmetric round trip', () => {
    const c = new ClockEstimator();
    // server is 5000 ms ahead; 40 ms round trip, 20 ms each way
    c.add(1000, 1000 + 20 + 5000, 1040);
    expect(c.offsetMs).toBe(5000);
    expect(c.rttMs).toBe(40);
    expect(c.serverNow(2000)).toBe(7000);
    expect(c.toLocal(7000)).toBe(2000);
  });

  it('trusts the lowest-rtt sample, not the latest or the mean', () => {
    const c = new ClockEstimator();
    c.add(0, 100 + 10, 20); // offset 100, rtt 20
    c.add(100, 200 + 150 + 100, 400); // queued reply: rtt 300, offset 200
    c.add(500, 500 + 100 + 40, 580); // offset 100, rtt 80 -> says 100
    expect(c.rttMs).toBe(20);
    expect(c.offsetMs).toBe(100);
  });

  it('slides: a step in the server clock is followed after WINDOW samples', () => {
    const c = new ClockEstimator();
    c.add(0, 5, 10); // offset 0 with a great rtt of 10
    for (let i = 1; i < WINDOW; i++) c.add(i * 1000, i * 1000 + 1000 + 15, i * 1000 + 30);
    expect(c.offsetMs).toBe(0); // the best sample is still in the window
    c.add(WINDOW * 1000, WINDOW * 1000 + 1000 + 15, WINDOW * 1000 + 30);
    expect(c.offsetMs).toBe(1000); // it slid out
  });

  it('rejects impossible samples', () => {
    const c = new ClockEstimator();
    expect(c.add(100, 50, 90)).toBeNull(); // negative rtt
    expect(c.add(0, 5, MAX_PLAUSIBLE_RTT_MS + 1)).toBeNull();
    expect(c.add(0, Number.NaN, 10)).not.toBeNull(); // rtt fine, offset NaN
  });

  it('a seed is used only until a real sample exists', () => {
    const c = new ClockEstimator();
    expect(c.ready).toBe(false);
    c.seed(10_000, 9_000);
    expect(c.offsetMs).toBe(1000);
    expect(c.rttMs).toBeNull();
    expect(c.ready).toBe(false);
    c.add(9_000, 9_000 + 10 + 2000, 9_020);
    expect(c.ready).toBe(true);
    expect(c.offsetMs).toBe(2000);
    c.seed(0, 0); // ignored once samples exist
    expect(c.offsetMs).toBe(2000);
  });
});
