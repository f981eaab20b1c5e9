import { banner } from '../api';
import { t } from '../i18n';

export function Banner() {
  const b = banner.value;
  if (!b) return null;
  return (
    <div class="banner" role="alert">
      <span>{t(b === 'unreachable' ? 'banner.unreachable' : 'banner.unavailable')}</span>
      <button type="button" class="link" aria-label={t('banner.dismiss')} onClick={() => (banner.value = null)}>
        ×
      </button>
    </div>
  );
}
