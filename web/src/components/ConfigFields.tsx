// The room settings fields, shared by "create room" and the owner's panel.
import { t, type Key } from '../i18n';
import type { RoomConfig } from '../types';

export const FLAGS = ['is_public', 'require_approval', 'keep_chat_history', 'sync_playback', 'guest_control'] as const;
export const DEFAULTS: RoomConfig = {
  is_public: true, require_approval: false, keep_chat_history: true, sync_playback: true, guest_control: false, max_members: 50,
};

export function ConfigFields({ value, idPrefix }: { value: RoomConfig; idPrefix: string }) {
  return (
    <fieldset class="config">
      {FLAGS.map((k) => (
        <div key={k} class="check">
          <label>
            <input type="checkbox" name={k} defaultChecked={value[k]} aria-describedby={`${idPrefix}-${k}-hint`} />
            {t(`cfg.${k}` as Key)}
          </label>
          <small id={`${idPrefix}-${k}-hint`} class="muted">{t(`cfg.${k}.hint` as Key)}</small>
        </div>
      ))}
      <label>
        {t('cfg.max_members')}
        <input type="number" name="max_members" min={2} max={1000} defaultValue={String(value.max_members)} required />
      </label>
    </fieldset>
  );
}

export function readConfig(f: FormData): RoomConfig {
  const c = { ...DEFAULTS };
  for (const k of FLAGS) c[k] = f.get(k) === 'on';
  c.max_members = Number(f.get('max_members')) || DEFAULTS.max_members;
  return c;
}
