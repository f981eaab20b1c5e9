import { describe, expect, it } from 'vitest';
import { expectedPositionMs, PlaybackTimeline, type PlaybackState } from './playback';

const st = (o: Partial<PlaybackState>): PlaybackState => ({
  media_url: 'http://x/a.mp4', state: 'paused', position_ms: 0, rate: 1, version: 1, updated_at_ms: 0, ...o,
});

describe('expectedPositionMs', () => {
  it('extrapolates while playing, at the rate', () => {
    expect(expectedPositionMs(st({ state: 'playing', position_ms: 1000, updated_at_ms: 10_000 }), 12_500)).toBe(3500);
    expect(expectedPositionMs(st({ state: 'playing', position_ms: 1000, rate: 2, updated_at_ms: 10_000 }), 12_500)).toBe(6000);
    expect(expectedPositionMs(st({ state: 'playing', position_ms: 1000, rate: 0.5, updated_at_ms: 10_000 }), 12_000)).toBe(2000);
  });
  it('holds while paused', () => {
    expect(expectedPositionMs(st({ state: 'paused', position_ms: 1000, updated_at_ms: 10_000 }), 99_000)).toBe(1000);
  });
  it('never runs backwards before a scheduled start, never below 0', () => {
    expect(expectedPositionMs(st({ state: 'playing', position_ms: 1000, updated_at_ms: 10_000 }), 9_000)).toBe(1000);
    expect(expectedPositionMs(st({ state: 'paused', position_ms: -5 }), 0)).toBe(0);
  });
});

describe('PlaybackTimeline', () => {
  it('ignores stale and duplicate versions', () => {
    const t = new PlaybackTimeline();
    expect(t.offer(st({ version: 3 }), 0)).toBe(true);
    expect(t.offer(st({ version: 3, position_ms: 9 }), 0)).toBe(false);
    expect(t.offer(st({ version: 2 }), 0)).toBe(false);
    expect(t.at(0)?.position_ms).toBe(0);
  });

  it('keeps the old state until a scheduled command executes', () => {
    const t = new PlaybackTimeline();
    t.offer(st({ version: 1, state: 'playing', position_ms: 0, updated_at_ms: 0 }), 0);
    // pause scheduled at server time 5000 at position 5000
    t.offer(st({ version: 2, state: 'paused', position_ms: 5000, updated_at_ms: 5000 }), 4800);
    expect(t.msUntilPending(4800)).toBe(200);
    expect(t.at(4900)?.state).toBe('playing');
    expect(expectedPositionMs(t.at(4900)!, 4900)).toBe(4900);
    expect(t.at(5000)?.state).toBe('paused');
    expect(t.pending).toBeNull();
    expect(expectedPositionMs(t.at(6000)!, 6000)).toBe(5000);
  });

  it('a newer command replaces a scheduled one', () => {
    const t = new PlaybackTimeline();
    t.offer(st({ version: 1 }), 0);
    t.offer(st({ version: 2, state: 'playing', updated_at_ms: 1000 }), 900);
    t.offer(st({ version: 3, state: 'paused', position_ms: 42, updated_at_ms: 800 }), 900);
    expect(t.pending).toBeNull();
    expect(t.at(2000)?.version).toBe(3);
    expect(t.offer(st({ version: 2 }), 2000)).toBe(false);
  });

  it('a first state in the future is taken at once (nothing to keep)', () => {
    const t = new PlaybackTimeline();
    t.offer(st({ version: 4, state: 'playing', position_ms: 100, updated_at_ms: 1000 }), 0);
    expect(t.at(0)?.version).toBe(4);
  });
});
