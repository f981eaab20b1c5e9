// Profile: username, avatar URL, email and password (with the current password).
import { useSignal } from '@preact/signals';
import { put, me, endSession } from '../api';
import { t } from '../i18n';
import type { Me } from '../types';
import { Field, FormError, field, useFormAction } from '../components/Form';

export function ProfilePage() {
  const msg = useSignal<string | null>(null);
  const u = me.value!;
  const { err, busy, submit } = useFormAction(async (f, form) => {
    const body: Record<string, string> = {};
    const username = field(f, 'username');
    const email = field(f, 'email');
    const avatar = field(f, 'avatar_url');
    const password = String(f.get('password') ?? '');
    const current = String(f.get('current_password') ?? '');
    if (username !== u.username) body.username = username;
    if (email !== u.email) body.email = email;
    if (avatar !== (u.avatar_url ?? '')) body.avatar_url = avatar;
    if (password) body.password = password;
    if (current && (body.email || body.password)) body.current_password = current;
    if (Object.keys(body).length === 0) return;
    msg.value = null;
    const next = await put<Me>('/users/me', body);
    if (body.password) {
      // a password change ends every session, this one included
      endSession('password_changed');
      return;
    }
    me.value = next;
    msg.value = t('profile.saved');
    (form.elements.namedItem('current_password') as HTMLInputElement).value = '';
  });
  return (
    <section class="card narrow">
      <h1>{t('profile.title')}</h1>
      {u.avatar_url && <img class="avatar" src={u.avatar_url} alt="" width={64} height={64} referrerPolicy="no-referrer" />}
      <p class="muted">{t('profile.joined', { date: new Date(u.created_at).toLocaleDateString() })}</p>
      <form onSubmit={submit} key={u.updated_at}>
        <Field label={t('auth.username')}>
          <input name="username" required defaultValue={u.username} autoComplete="username" />
        </Field>
        <Field label={t('auth.email')}>
          <input name="email" type="email" required defaultValue={u.email} autoComplete="email" />
        </Field>
        <Field label={t('auth.avatar_url')}>
          <input name="avatar_url" type="url" defaultValue={u.avatar_url ?? ''} />
        </Field>
        <Field label={t('profile.new_password')}>
          <input name="password" type="password" autoComplete="new-password" />
        </Field>
        <Field label={t('profile.current_password')}>
          <input name="current_password" type="password" autoComplete="current-password" />
        </Field>
        {msg.value && <p role="status">{msg.value}</p>}
        <FormError err={err.value} />
        <button type="submit" disabled={busy.value}>{t('profile.save')}</button>
      </form>
    </section>
  );
}
