// An ApiError as a sentence for the person in front of the page.
import { ApiError } from './api';
import { t, type Key } from './i18n';

const DETAILS: Record<string, Key> = {
  'Incorrect username or password': 'err.bad_login',
  'Username already registered': 'err.username_taken',
  'Email already registered': 'err.email_taken',
};

function fieldMessage(loc: (string | number)[], type: string, msg: string): string {
  const field = String(loc[loc.length - 1] ?? '');
  if (field === 'password') {
    if (type === 'string_too_long') return t('err.password_long');
    return t('err.password_short'); // "8 to 128 bytes": short is what people hit
  }
  if (field === 'username') return t('err.username_invalid');
  if (field === 'email') return t('err.email_invalid');
  if (field === 'avatar_url') return t('err.avatar_invalid');
  if (field === 'current_password') return t('err.current_password_needed');
  return t('err.field', { field, msg });
}

export function describe(e: unknown): string {
  if (!(e instanceof ApiError)) return t('err.generic', { detail: String((e as Error)?.message ?? e) });
  if (e.status === 0) return t('err.unreachable');
  if (e.status === 429) return t('err.rate_limited', { seconds: e.retryAfter ?? 60 });
  if (e.status === 503) return t('err.unavailable');
  if (e.fields.length) return e.fields.map((f) => fieldMessage(f.loc, f.type, f.msg)).join(' ');
  const known = DETAILS[e.detail];
  if (known) return t(known);
  if (/email/i.test(e.detail) && e.status === 409) return t('err.email_taken');
  if (/username/i.test(e.detail) && e.status === 409) return t('err.username_taken');
  if (/current password/i.test(e.detail) || (e.status === 403 && /password/i.test(e.detail))) return t('err.current_password');
  if (e.status === 404) return t('err.not_found');
  if (/full/i.test(e.detail)) return t('err.room_full');
  if (e.status === 403 && /apply/i.test(e.detail)) return t('err.need_apply');
  if (e.status === 403) return t('err.forbidden');
  return t('err.generic', { detail: e.detail });
}
