// What an outsider sees: Join, Apply with a message, pending, or an invitation.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, post } from '../../api';
import { describe } from '../../errors';
import { t } from '../../i18n';
import type { RoomController } from '../model';
import type { Invitation, Page } from '../../types';

export function Gate({ ctl }: { ctl: RoomController }) {
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const declined = useSignal(false);
  const invitation = useSignal<Invitation | null>(null);
  const room = ctl.room.value!;
  const role = ctl.role.value;
  const run = async (f: () => Promise<unknown>) => {
    busy.value = true;
    err.value = null;
    try {
      await f();
      ctl.ended.value = null;
      await ctl.reload();
    } catch (e) {
      err.value = describe(e);
    } finally {
      busy.value = false;
    }
  };
  const join = () => run(() => post('/rooms/join', { room_id: room.id }));
  const findInvitation = async () => {
    const inv = await get<Page<Invitation>>('/rooms/invitations?limit=100');
    return inv.items.find((i) => i.room_id === room.id) ?? null;
  };
  useEffect(() => {
    if (role === 'invited') findInvitation().then((i) => (invitation.value = i), () => undefined);
  }, [role]);
  const decline = () => run(async () => {
    const mine = invitation.value ?? (await findInvitation());
    if (mine) await post(`/rooms/invitations/${mine.id}/decline`);
    declined.value = true;
  });
  const apply = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const message = String(f.get('message') ?? '').trim();
    void run(() => post('/rooms/apply', { room_id: room.id, ...(message ? { message } : {}) }));
  };
  return (
    <section class="card narrow gate">
      <p class="muted">{t('lobby.members', { n: room.member_count, max: room.config.max_members, online: room.online_count ?? 0 })}</p>
      {role === 'invited' && (
        <>
          <p>{t('room.invited', { name: invitation.value?.inviter.username ?? room.owner.username })}</p>
          <button type="button" disabled={busy.value} onClick={join}>{t('room.accept')}</button>{' '}
          <button type="button" disabled={busy.value} onClick={decline}>{t('room.decline')}</button>
        </>
      )}
      {role === 'applied' && <p role="status">{t('room.applied')}</p>}
      {role === 'none' && declined.value && <p role="status">{t('room.declined')}</p>}
      {role === 'none' && !room.config.require_approval && (
        <button type="button" disabled={busy.value} onClick={join}>{t('room.join')}</button>
      )}
      {role === 'none' && room.config.require_approval && (
        <form onSubmit={apply}>
          <label>
            {t('room.apply_message')}
            <textarea name="message" maxLength={500} rows={2} />
          </label>
          <button type="submit" disabled={busy.value}>{t('room.apply')}</button>
        </form>
      )}
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </section>
  );
}
