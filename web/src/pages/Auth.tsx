// Log in (username or email) and register.
import { login, register, authNotice } from '../api';
import { linkClick } from '../router';
import { t } from '../i18n';
import { Field, FormError, field, useFormAction } from '../components/Form';

function Notice() {
  const n = authNotice.value;
  if (!n) return null;
  const key = n === 'session_ended' ? 'auth.session_ended' : n === 'password_changed' ? 'auth.password_changed' : 'auth.logged_out';
  return <p class="notice" role="status">{t(key)}</p>;
}

export function LoginPage() {
  const { err, busy, submit } = useFormAction((f) => login(field(f, 'username'), String(f.get('password'))));
  return (
    <section class="card narrow">
      <h1>{t('auth.login_title')}</h1>
      <p class="muted">{t('app.tagline')}</p>
      <Notice />
      <form onSubmit={submit}>
        <Field label={t('auth.username_or_email')}>
          <input name="username" autoComplete="username" required maxLength={254} />
        </Field>
        <Field label={t('auth.password')}>
          <input name="password" type="password" autoComplete="current-password" required maxLength={1024} />
        </Field>
        <FormError err={err.value} />
        <button type="submit" disabled={busy.value}>{t('auth.login_button')}</button>
      </form>
      <p><a href="/register" onClick={linkClick}>{t('auth.to_register')}</a></p>
    </section>
  );
}

export function RegisterPage() {
  const { err, busy, submit } = useFormAction(async (f) => {
    const avatar = field(f, 'avatar_url');
    await register({
      username: field(f, 'username'),
      email: field(f, 'email'),
      password: String(f.get('password')),
      ...(avatar ? { avatar_url: avatar } : {}),
    });
  });
  return (
    <section class="card narrow">
      <h1>{t('auth.register_title')}</h1>
      <form onSubmit={submit}>
        <Field label={t('auth.username')} hint={{ id: 'u-hint', text: t('auth.username_hint') }}>
          <input name="username" autoComplete="username" required aria-describedby="u-hint" />
        </Field>
        <Field label={t('auth.email')}>
          <input name="email" type="email" autoComplete="email" required />
        </Field>
        <Field label={t('auth.password')} hint={{ id: 'p-hint', text: t('auth.password_hint') }}>
          <input name="password" type="password" autoComplete="new-password" required aria-describedby="p-hint" />
        </Field>
        <Field label={t('auth.avatar_url')}>
          <input name="avatar_url" type="url" />
        </Field>
        <FormError err={err.value} />
        <button type="submit" disabled={busy.value}>{t('auth.register_button')}</button>
      </form>
      <p><a href="/login" onClick={linkClick}>{t('auth.to_login')}</a></p>
    </section>
  );
}
