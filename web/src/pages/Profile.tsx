// Profile: username, avatar URL, email and password (with the current password).
import { useSignal } from '@preact/signals';
import { put, me, endSession } from '../api';
import { describe } from '../errors';
import { t } from '../i18n';
import type { Me } from '../types';

export function ProfilePage() {
  const msg = useSignal<string | null>(null);
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const u = me.value!;
  const save = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const body: Record<string, string> = {};
    const username = String(f.get('username')).trim();
    const email = String(f.get('email')).trim();
    const avatar = String(f.get('avatar_url') ?? '').trim();
    const password = String(f.get('password') ?? '');
    const current = String(f.get('current_password') ?? '');
    if (username !== u.username) body.username = username;
    if (email !== u.email) body.email = email;
    if (avatar !== (u.avatar_url ?? '')) body.avatar_url = avatar;
    if (password) body.password = password;
    if (current && (body.email || body.password)) body.current_password = current;
    if (Object.keys(body).length === 0) return;
    busy.value = true;
    msg.value = null;
    err.value = null;
    try {
      const next = await put<Me>('/users/me', body);
      if (body.password) {
        // a password change ends every session, this one included
        endSession('password_changed');
        return;
      }
      me.value = next;
      msg.value = t('profile.saved');
      (form.elements.namedItem('current_password') as HTMLInputElement).value = '';
    } catch (x) {
      err.value = describe(x);
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="card narrow">
      <h1>{t('profile.title')}</h1>
      {u.avatar_url && <img class="avatar" src={u.avatar_url} alt="" width={64} height={64} referrerPolicy="no-referrer" />}
      <p class="muted">{t('profile.joined', { date: new Date(u.created_at).toLocaleDateString() })}</p>
      <form onSubmit={save} key={u.updated_at}>
        <label>
          {t('auth.username')}
          <input name="username" required defaultValue={u.username} autoComplete="username" />
        </label>
        <label>
          {t('auth.email')}
          <input name="email" type="email" required defaultValue={u.email} autoComplete="email" />
        </label>
        <label>
          {t('auth.avatar_url')}
          <input name="avatar_url" type="url" defaultValue={u.avatar_url ?? ''} />
        </label>
        <label>
          {t('profile.new_password')}
          <input name="password" type="password" autoComplete="new-password" />
        </label>
        <label>
          {t('profile.current_password')}
          <input name="current_password" type="password" autoComplete="current-password" />
        </label>
        {msg.value && <p role="status">{msg.value}</p>}
        {err.value && <p class="error" role="alert">{err.value}</p>}
        <button type="submit" disabled={busy.value}>{t('profile.save')}</button>
      </form>
    </section>
  );
}
