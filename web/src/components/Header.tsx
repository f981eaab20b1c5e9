import { me, logout } from '../api';
import { linkClick } from '../router';
import { connState } from '../ws';
import { lang, setLang, t } from '../i18n';
import { Bell } from './Bell';

function ConnIndicator() {
  const s = connState.value;
  const label = t(s === 'online' ? 'conn.online' : s === 'connecting' ? 'conn.connecting' : 'conn.offline');
  return (
    <span class={`conn conn-${s}`} role="status" aria-label={t('conn.label', { state: label })} title={label}>
      <span class="dot" aria-hidden="true" />
      <span class="conn-text">{label}</span>
    </span>
  );
}

export function Header() {
  const user = me.value;
  return (
    <header class="top">
      <a href="/" class="brand" onClick={linkClick}>
        {t('app.name')}
      </a>
      <nav aria-label={t('nav.main')}>
        {user ? (
          <>
            <a href="/" onClick={linkClick}>{t('nav.lobby')}</a>
            <a href="/profile" onClick={linkClick}>{t('nav.profile')}</a>
          </>
        ) : (
          <>
            <a href="/login" onClick={linkClick}>{t('nav.login')}</a>
            <a href="/register" onClick={linkClick}>{t('nav.register')}</a>
          </>
        )}
      </nav>
      <div class="spacer" />
      {user && <ConnIndicator />}
      {user && <Bell />}
      <button type="button" class="link" aria-label={t('lang.label')} onClick={() => setLang(lang.value === 'zh' ? 'en' : 'zh')}>
        {t('lang.switch')}
      </button>
      {user && (
        <>
          <span class="who">{user.username}</span>
          <button type="button" onClick={() => void logout()}>{t('nav.logout')}</button>
        </>
      )}
    </header>
  );
}
