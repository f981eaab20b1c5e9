// Moderators and the owner: invite by username search, approve or reject
// applications (the list follows room_application notifications live).
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, post } from '../../api';
import { onNotification } from '../../notify';
import { describe } from '../../errors';
import { t } from '../../i18n';
import type { RoomController } from '../model';
import type { Application, Page, PublicUser } from '../../types';

function Invite({ ctl }: { ctl: RoomController }) {
  const q = useSignal('');
  const users = useSignal<PublicUser[] | null>(null);
  const msg = useSignal<string | null>(null);
  const err = useSignal<string | null>(null);
  const search = async (e: Event) => {
    e.preventDefault();
    const v = q.value.trim();
    if (!v) return;
    err.value = null;
    try {
      users.value = (await get<Page<PublicUser>>(`/users/?q=${encodeURIComponent(v)}&limit=10`)).items;
    } catch (x) {
      err.value = describe(x);
    }
  };
  const members = new Set(ctl.members.value.map((m) => m.id));
  const invite = async (u: PublicUser) => {
    err.value = null;
    msg.value = null;
    try {
      await post('/rooms/invite', { room_id: ctl.id, user_id: u.id });
      msg.value = t('room.invited_ok', { name: u.username });
    } catch (x) {
      err.value = describe(x);
    }
  };
  return (
    <div>
      <h3>{t('room.invite')}</h3>
      <form class="row" role="search" onSubmit={search}>
        <input class="grow" type="search" aria-label={t('room.invite_search')} placeholder={t('room.invite_search')} maxLength={32}
          value={q.value} onInput={(e) => (q.value = (e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">{t('lobby.search_button')}</button>
      </form>
      {users.value && users.value.length === 0 && <p class="muted">{t('room.no_users')}</p>}
      {users.value && (
        <ul>
          {users.value.filter((u) => !members.has(u.id)).map((u) => (
            <li key={u.id}>
              {u.username}{' '}
              <button type="button" onClick={() => invite(u)}>{t('room.invite_user', { name: u.username })}</button>
            </li>
          ))}
        </ul>
      )}
      {msg.value && <p role="status">{msg.value}</p>}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </div>
  );
}

function Applications({ ctl }: { ctl: RoomController }) {
  const apps = useSignal<Application[]>(ctl.room.value?.pending_applications ?? []);
  const err = useSignal<string | null>(null);
  const load = async () => {
    try {
      apps.value = (await get<Page<Application>>(`/rooms/${ctl.id}/applications?limit=100`)).items.filter((a) => a.status === 'pending');
    } catch (x) {
      err.value = describe(x);
    }
  };
  useEffect(() => {
    void load();
    return onNotification((n) => {
      if (n.type === 'room_application' && Number(n.content.room_id) === ctl.id) void load();
    });
  }, [ctl]);
  // someone else may have decided: members joining change the list
  const count = ctl.members.value.length;
  useEffect(() => void load(), [count]);
  const decide = async (a: Application, ok: boolean) => {
    err.value = null;
    try {
      await post(`/rooms/${ctl.id}/applications/${a.id}/${ok ? 'approve' : 'reject'}`);
      apps.value = apps.value.filter((x) => x.id !== a.id);
    } catch (x) {
      err.value = describe(x);
    }
  };
  return (
    <div>
      <h3>{t('room.applications')}</h3>
      {apps.value.length === 0 ? <p class="muted">{t('room.no_applications')}</p> : (
        <ul>
          {apps.value.map((a) => (
            <li key={a.id}>
              <b>{a.user.username}</b>{a.message ? `: ${a.message}` : ''}{' '}
              <button type="button" onClick={() => decide(a, true)}>{t('room.approve', { name: a.user.username })}</button>
              <button type="button" onClick={() => decide(a, false)}>{t('room.reject', { name: a.user.username })}</button>
            </li>
          ))}
        </ul>
      )}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </div>
  );
}

export function ManageView({ ctl }: { ctl: RoomController }) {
  return (
    <section class="card manage" aria-label={t('room.invite')}>
      <Invite ctl={ctl} />
      {ctl.room.value?.config.require_approval && <Applications ctl={ctl} />}
    </section>
  );
}
