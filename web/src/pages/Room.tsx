// The room page, by identity (my_role): the card with Join / Apply /
// Accept for outsiders, the room itself for members, plus management for
// moderators and the settings for the owner.
import { useEffect, useMemo } from 'preact/hooks';
import { linkClick } from '../router';
import { describe } from '../errors';
import { t, type Key } from '../i18n';
import { RoomController } from '../room/model';
import { Gate } from '../room/view/Gate';
import { PlayerView } from '../room/view/Player';
import { ChatView } from '../room/view/Chat';
import { MembersView } from '../room/view/Members';
import { ManageView } from '../room/view/Manage';
import { SettingsView } from '../room/view/Settings';

export function RoomPage({ id }: { id: number }) {
  const ctl = useMemo(() => new RoomController(id), [id]);
  useEffect(() => {
    void ctl.start();
    return () => ctl.stop();
  }, [ctl]);

  const room = ctl.room.value;
  const ended = ctl.ended.value;
  if (ended === 'dissolved' || ended === 'not_found') {
    return (
      <section class="card narrow" aria-live="polite">
        <h1>{t(ended === 'dissolved' ? 'room.dissolved' : 'err.not_found')}</h1>
        <a href="/" onClick={linkClick}>{t('room.back')}</a>
      </section>
    );
  }
  if ((ended === 'kicked' || ended === 'left') && ctl.hidden.value) {
    return (
      <section class="card narrow" aria-live="polite">
        <h1>{t(ended === 'kicked' ? 'room.kicked' : 'room.left')}</h1>
        <a href="/" onClick={linkClick}>{t('room.back')}</a>
      </section>
    );
  }
  if (!room) {
    return ctl.loadError.value ? <p class="error" role="alert">{describe(ctl.loadError.value)}</p> : <p class="muted">{t('room.loading')}</p>;
  }
  const role = ctl.role.value;
  return (
    <div class="room">
      <section class="room-head" aria-label={t('room.info')}>
        <h1>{room.name}</h1>
        <span class="tag">{room.config.is_public ? t('room.public') : t('room.private')}</span>
        <span class="tag role">{t(`role.${role}` as Key)}</span>
        {room.description && <p>{room.description}</p>}
        <p class="muted">{t('lobby.owner', { name: room.owner.username })}</p>
      </section>
      {ended && (ended === 'kicked' || ended === 'left') && (
        <p class="notice" role="alert">{t(ended === 'kicked' ? 'room.kicked' : 'room.left')}</p>
      )}
      {!ctl.isMember.value ? (
        <Gate ctl={ctl} />
      ) : (
        <div class="room-grid">
          <PlayerView ctl={ctl} />
          <ChatView ctl={ctl} />
          <MembersView ctl={ctl} />
          {ctl.canModerate.value && <ManageView ctl={ctl} />}
          {role === 'owner' && <SettingsView ctl={ctl} />}
        </div>
      )}
    </div>
  );
}
