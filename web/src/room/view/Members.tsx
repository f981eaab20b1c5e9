// Members: online state, role, sync health; the owner sets roles and
// transfers, owner and moderators kick lower roles.
import { useSignal } from '@preact/signals';
import { put, del, post, me } from '../../api';
import { describe } from '../../errors';
import { t, type Key } from '../../i18n';
import type { RoomController } from '../model';
import type { Member } from '../../types';

const RANK = { owner: 0, moderator: 1, member: 2 } as const;

function Row({ ctl, m }: { ctl: RoomController; m: Member }) {
  const err = useSignal<string | null>(null);
  const confirm = useSignal(false);
  const myRole = ctl.role.value;
  const isMe = m.id === me.value?.id;
  const h = ctl.health.value.get(m.id);
  const canKick = !isMe && (myRole === 'owner' || myRole === 'moderator') && RANK[myRole] < RANK[m.role];
  const run = async (f: () => Promise<unknown>) => {
    err.value = null;
    try {
      await f();
    } catch (e) {
      err.value = describe(e);
    }
  };
  return (
    <li class={m.online ? 'member on' : 'member'}>
      <span class="dot" aria-hidden="true" />
      <span class="name">{m.username}{isMe ? t('room.you') : ''}</span>
      <span class="tag">{t(`role.${m.role}` as Key)}</span>
      <span class="state">{m.online ? t('room.online') : t('room.offline')}</span>
      {h && m.online && (
        <span class="health">
          {h.buffering ? t('room.buffering') : typeof h.drift_ms === 'number' ? t('room.drift', { ms: h.drift_ms }) : ''}
        </span>
      )}
      {myRole === 'owner' && !isMe && m.role !== 'owner' && (
        <select aria-label={t('room.role_of', { name: m.username })} value={m.role}
          onChange={(e) => run(() => put(`/rooms/${ctl.id}/members/${m.id}`, { role: (e.currentTarget as HTMLSelectElement).value }))}>
          <option value="member">{t('role.member')}</option>
          <option value="moderator">{t('role.moderator')}</option>
        </select>
      )}
      {canKick && (
        <button type="button" onClick={() => run(() => del(`/rooms/${ctl.id}/members/${m.id}`))}>
          {t('room.kick', { name: m.username })}
        </button>
      )}
      {myRole === 'owner' && !isMe && (
        confirm.value ? (
          <>
            <button type="button" onClick={() => run(async () => { await post(`/rooms/${ctl.id}/transfer`, { user_id: m.id }); confirm.value = false; })}>
              {t('room.transfer_confirm', { name: m.username })}
            </button>
            <button type="button" onClick={() => (confirm.value = false)}>{t('room.cancel')}</button>
          </>
        ) : (
          <button type="button" onClick={() => (confirm.value = true)}>{t('room.transfer', { name: m.username })}</button>
        )
      )}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </li>
  );
}

export function MembersView({ ctl }: { ctl: RoomController }) {
  const err = useSignal<string | null>(null);
  const list = ctl.members.value;
  return (
    <section class="card members" aria-labelledby="members-h">
      <h2 id="members-h">{t('room.members')} ({list.filter((m) => m.online).length}/{list.length})</h2>
      <ul aria-label={t('room.members')}>
        {list.map((m) => <Row key={m.id} ctl={ctl} m={m} />)}
      </ul>
      {ctl.role.value !== 'owner' && (
        <button type="button" onClick={async () => {
          try {
            await post('/rooms/leave', { room_id: ctl.id });
            ctl.ended.value = 'left';
            await ctl.reload(true);
          } catch (e) {
            err.value = describe(e);
          }
        }}>{t('room.leave')}</button>
      )}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </section>
  );
}
