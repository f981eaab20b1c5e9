// The notification bell: unread count, the list with the action in place.
import { useSignal } from '@preact/signals';
import {
  notifications, unreadCount, markRead, readAll, removeNotification, clearNotifications, acceptInvite, decideApplication,
} from '../notify';
import { navigate } from '../router';
import { describe } from '../errors';
import { t, type Key } from '../i18n';
import type { Notification } from '../types';

const who = (c: Record<string, any>): string =>
  c.inviter?.username ?? c.applicant?.username ?? c.invitee?.username ?? c.by?.username ?? '';

export function notificationText(n: Notification): string {
  const c = n.content as Record<string, any>;
  const key = `n.${n.type}` as Key;
  const role = c.role ? t(`role.${c.role}` as Key) : '';
  const text = typeof c.text === 'string' ? c.text : JSON.stringify(c);
  const message = c.message ? `：${c.message}` : '';
  return t(key, { who: who(c), room: String(c.room_name ?? ''), role, text, message }) || n.type;
}

function Item({ n, close }: { n: Notification; close: () => void }) {
  const busy = useSignal(false);
  const err = useSignal<string | null>(null);
  const done = useSignal(false);
  const roomId = Number(n.content.room_id);
  const run = async (f: () => Promise<unknown>) => {
    busy.value = true;
    err.value = null;
    try {
      await f();
      done.value = true;
    } catch (e) {
      err.value = describe(e);
    } finally {
      busy.value = false;
    }
  };
  const open = () => {
    void markRead(n.id).catch(() => undefined);
    close();
    navigate(`/rooms/${roomId}`);
  };
  const text = notificationText(n);
  return (
    <li class={`note ${n.status}`} aria-label={text}>
      <p>{text}</p>
      <div class="actions">
        {n.type === 'room_invite' && !done.value && (
          <button type="button" disabled={busy.value} onClick={() => run(async () => {
            const id = await acceptInvite(n);
            close();
            navigate(`/rooms/${id}`);
          })}>{t('bell.accept')}</button>
        )}
        {n.type === 'room_application' && !done.value && (
          <>
            <button type="button" disabled={busy.value} onClick={() => run(() => decideApplication(n, true))}>{t('bell.approve')}</button>
            <button type="button" disabled={busy.value} onClick={() => run(() => decideApplication(n, false))}>{t('bell.reject')}</button>
          </>
        )}
        {done.value && <span class="muted">{t('bell.done')}</span>}
        {roomId > 0 && n.type !== 'room_dissolved' && (
          <button type="button" class="link" onClick={open}>{t('bell.open_room')}</button>
        )}
        {n.status === 'unread' && (
          <button type="button" class="link" onClick={() => run(() => markRead(n.id))}>{t('bell.mark_read')}</button>
        )}
        <button type="button" class="link" aria-label={`${t('bell.delete')}: ${text}`} onClick={() => run(() => removeNotification(n.id))}>
          {t('bell.delete')}
        </button>
      </div>
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </li>
  );
}

export function Bell() {
  const open = useSignal(false);
  const err = useSignal<string | null>(null);
  const n = unreadCount.value;
  const list = notifications.value;
  const act = async (f: () => Promise<void>) => {
    err.value = null;
    try {
      await f();
    } catch (e) {
      err.value = describe(e);
    }
  };
  return (
    <div class="bell">
      <button type="button" aria-label={t('bell.label', { n })} aria-expanded={open.value} aria-controls="bell-panel"
        onClick={() => (open.value = !open.value)}>
        <span aria-hidden="true">{t('bell.title')}</span>
        {n > 0 && <span class="badge" aria-hidden="true">{n}</span>}
      </button>
      {open.value && (
        <section id="bell-panel" class="bell-panel" role="region" aria-label={t('bell.title')}>
          <header>
            <h2>{t('bell.title')}</h2>
            <button type="button" class="link" onClick={() => act(readAll)}>{t('bell.read_all')}</button>
            <button type="button" class="link" onClick={() => act(clearNotifications)}>{t('bell.clear')}</button>
            <button type="button" class="link" aria-label={t('bell.close')} onClick={() => (open.value = false)}>×</button>
          </header>
          {err.value && <p class="error" role="alert">{err.value}</p>}
          {list.length === 0 ? <p class="muted">{t('bell.empty')}</p> : (
            <ul>{list.map((x) => <Item key={x.id} n={x} close={() => (open.value = false)} />)}</ul>
          )}
        </section>
      )}
    </div>
  );
}
