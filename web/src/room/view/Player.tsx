// The player: the <video>, the controls for whoever may control, read-only
// controls saying who is in charge for the others.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { t, type Key } from '../../i18n';
import { describe } from '../../errors';
import { PlayerDriver } from '../player';
import type { RoomController } from '../model';

const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function PlayerView({ ctl }: { ctl: RoomController }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const driver = useSignal<PlayerDriver | null>(null);
  const err = useSignal<string | null>(null);
  const dragging = useSignal<number | null>(null);
  useEffect(() => {
    const d = new PlayerDriver(ctl, videoRef.current!);
    driver.value = d;
    d.start();
    return () => {
      d.stop();
      driver.value = null;
    };
  }, [ctl]);

  const d = driver.value;
  ctl.playbackVersion.value; // re-render on playback changes
  const cfg = ctl.config.value!;
  const can = ctl.canControl.value;
  const st = ctl.timeline.current;
  const hasMedia = !!st?.media_url;
  const roomPlaying = st?.state === 'playing';
  const pos = dragging.value ?? d?.positionMs.value ?? 0;
  const dur = d?.durationMs.value ?? 0;

  const cmd = async (payload: Record<string, unknown>) => {
    err.value = null;
    try {
      await d?.command(payload);
    } catch (e) {
      const code = (e as { code?: string }).code;
      err.value = code === 'forbidden' ? t('err.forbidden') : code === 'rate_limited' ? t('err.rate_limited', { seconds: 1 }) : describe(e);
    }
  };
  const load = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const url = String(f.get('media_url') ?? '').trim();
    if (url) void cmd({ action: 'load', media_url: url, position_ms: 0 });
  };
  const toggle = () => {
    const at = Math.round(d?.roomPositionMs() ?? 0);
    void cmd({ action: roomPlaying ? 'pause' : 'play', position_ms: at });
  };
  const controllers = ctl.members.value.filter((m) => m.role !== 'member').map((m) => m.username);
  const reason = d?.reason.value ?? 'idle';

  return (
    <section class="card player" aria-labelledby="player-h">
      <h2 id="player-h">{t('player.title')}</h2>
      {can && (
        <form class="row" onSubmit={load}>
          <label class="grow">
            {t('player.media_url')}
            <input name="media_url" type="url" required maxLength={2048} defaultValue={st?.media_url ?? ''} />
          </label>
          <button type="submit">{t('player.load')}</button>
        </form>
      )}
      <div class="screen">
        <video ref={videoRef} aria-label={t('player.video')} playsInline preload="auto" />
        {!hasMedia && <p class="overlay muted">{t(can ? 'player.no_media_control' : 'player.no_media')}</p>}
        {d?.needsGesture.value && (
          <button type="button" class="overlay big" onClick={() => d.userStart()}>{t('player.click_to_play')}</button>
        )}
      </div>
      {cfg.sync_playback ? (
        <div class="controls">
          <button type="button" disabled={!can || !hasMedia} onClick={toggle}>
            {roomPlaying ? t('player.pause') : t('player.play')}
          </button>
          <input type="range" aria-label={t('player.seek')} min={0} max={Math.max(dur, 1)} step={100} value={pos}
            disabled={!can || !hasMedia}
            onInput={(e) => (dragging.value = Number((e.currentTarget as HTMLInputElement).value))}
            onChange={(e) => {
              const v = Number((e.currentTarget as HTMLInputElement).value);
              dragging.value = null;
              void cmd({ action: 'seek', position_ms: Math.round(v) });
            }} />
          <span class="time" aria-label={t('player.seek')}>{clock(pos)} / {clock(dur)}</span>
          <label>
            {t('player.rate')}
            <select disabled={!can || !hasMedia} value={String(st?.rate ?? 1)}
              onChange={(e) => void cmd({ action: 'rate', rate: Number((e.currentTarget as HTMLSelectElement).value) })}>
              {RATES.map((r) => <option key={r} value={String(r)}>{r}×</option>)}
            </select>
          </label>
          <span class="sync" role="status">
            {t('player.sync', { state: t(`player.sync.${reason}` as Key) })}
            {d?.driftMs.value !== null && d?.driftMs.value !== undefined && reason !== 'idle' ? ` (${d.driftMs.value} ms)` : ''}
          </span>
        </div>
      ) : (
        <p class="notice">{t('player.sync_off')}</p>
      )}
      {cfg.sync_playback && !can && (
        <p class="muted">
          {t('player.readonly', { names: controllers.join('、') })}
          {ctl.role.value === 'member' && !cfg.guest_control ? ` ${t('player.readonly_guest')}` : ''}
        </p>
      )}
      {d?.error.value && <p class="error" role="alert">{d.error.value === 'hls' ? t('player.hls_unsupported') : t('player.error', { detail: d.error.value })}</p>}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </section>
  );
}
