// Log in (username or email) and register.
import { useSignal } from '@preact/signals';
import { login, register, authNotice } from '../api';
import { linkClick } from '../router';
import { describe } from '../errors';
import { t } from '../i18n';

function Notice() {
  const n = authNotice.value;
  if (!n) return null;
  const key = n === 'session_ended' ? 'auth.session_ended' : n === 'password_changed' ? 'auth.password_changed' : 'auth.logged_out';
  return <p class="notice" role="status">{t(key)}</p>;
}

export function LoginPage() {
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    busy.value = true;
    err.value = null;
    try {
      await login(String(f.get('username')).trim(), String(f.get('password')));
    } catch (x) {
      err.value = describe(x);
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="card narrow">
      <h1>{t('auth.login_title')}</h1>
      <p class="muted">{t('app.tagline')}</p>
      <Notice />
      <form onSubmit={submit}>
        <label>
          {t('auth.username_or_email')}
          <input name="username" autoComplete="username" required maxLength={254} />
        </label>
        <label>
          {t('auth.password')}
          <input name="password" type="password" autoComplete="current-password" required maxLength={1024} />
        </label>
        {err.value && <p class="error" role="alert">{err.value}</p>}
        <button type="submit" disabled={busy.value}>{t('auth.login_button')}</button>
      </form>
      <p><a href="/register" onClick={linkClick}>{t('auth.to_register')}</a></p>
    </section>
  );
}

export function RegisterPage() {
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const avatar = String(f.get('avatar_url') ?? '').trim();
    busy.value = true;
    err.value = null;
    try {
      await register({
        username: String(f.get('username')).trim(),
        email: String(f.get('email')).trim(),
        password: String(f.get('password')),
        ...(avatar ? { avatar_url: avatar } : {}),
      });
    } catch (x) {
      err.value = describe(x);
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="card narrow">
      <h1>{t('auth.register_title')}</h1>
      <form onSubmit={submit}>
        <label>
          {t('auth.username')}
          <input name="username" autoComplete="username" required aria-describedby="u-hint" />
        </label>
        <small id="u-hint" class="muted hint">{t('auth.username_hint')}</small>
        <label>
          {t('auth.email')}
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          {t('auth.password')}
          <input name="password" type="password" autoComplete="new-password" required aria-describedby="p-hint" />
        </label>
        <small id="p-hint" class="muted hint">{t('auth.password_hint')}</small>
        <label>
          {t('auth.avatar_url')}
          <input name="avatar_url" type="url" />
        </label>
        {err.value && <p class="error" role="alert">{err.value}</p>}
        <button type="submit" disabled={busy.value}>{t('auth.register_button')}</button>
      </form>
      <p><a href="/login" onClick={linkClick}>{t('auth.to_login')}</a></p>
    </section>
  );
}
