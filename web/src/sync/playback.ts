// The room's authoritative playback state and where it says we should be.
//
// The server sends {media_url, state, position_ms, rate, version,
// updated_at_ms}.  A command may be scheduled: its updated_at_ms
// (= execute_at_ms) lies in the future, and until then the previous state
// still holds.  PlaybackTimeline keeps the state in force and at most one
// scheduled successor, ordered by version.

export interface PlaybackState {
  media_url: string | null;
  state: 'playing' | 'paused';
  position_ms: number;
  rate: number;
  version: number;
  updated_at_ms: number;
}

/** Where the state says the media is at server time `serverNow` (ms). */
export function expectedPositionMs(s: PlaybackState, serverNow: number): number {
  if (s.state !== 'playing') return Math.max(0, s.position_ms);
  const elapsed = Math.max(0, serverNow - s.updated_at_ms);
  return Math.max(0, s.position_ms + elapsed * s.rate);
}

export class PlaybackTimeline {
  current: PlaybackState | null = null;
  pending: PlaybackState | null = null;

  /** Adopt a state from the server; older versions are ignored. Returns true if taken. */
  offer(s: PlaybackState, serverNow: number): boolean {
    const newest = this.pending ?? this.current;
    if (newest && s.version <= newest.version) return false;
    if (s.updated_at_ms > serverNow && this.current) {
      this.pending = s;
    } else {
      this.current = s;
      this.pending = null;
    }
    return true;
  }

  /** Promote a scheduled state whose time has come; returns the state in force. */
  at(serverNow: number): PlaybackState | null {
    if (this.pending && serverNow >= this.pending.updated_at_ms) {
      this.current = this.pending;
      this.pending = null;
    }
    return this.current;
  }

  /** ms until the scheduled state takes effect (null if none). */
  msUntilPending(serverNow: number): number | null {
    return this.pending ? Math.max(0, this.pending.updated_at_ms - serverNow) : null;
  }

  reset(): void {
    this.current = null;
    this.pending = null;
  }
}
