// The owner's settings panel (name, description, the six settings) and
// dissolve.  Changes reach every page through room_event config_updated.
import { useSignal } from '@preact/signals';
import { put, del } from '../../api';
import { describe } from '../../errors';
import { t } from '../../i18n';
import { ConfigFields, readConfig } from '../../components/ConfigFields';
import type { RoomController } from '../model';

export function SettingsView({ ctl }: { ctl: RoomController }) {
  const msg = useSignal<string | null>(null);
  const err = useSignal<string | null>(null);
  const confirm = useSignal(false);
  const room = ctl.room.value!;
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    msg.value = null;
    err.value = null;
    try {
      await put(`/rooms/${ctl.id}/config`, {
        name: String(f.get('name')).trim(),
        description: String(f.get('description') ?? ''),
        config: readConfig(f),
      });
      msg.value = t('room.saved');
    } catch (x) {
      err.value = describe(x);
    }
  };
  const dissolve = async () => {
    err.value = null;
    try {
      await del(`/rooms/${ctl.id}`);
      ctl.end('dissolved');
    } catch (x) {
      err.value = describe(x);
    }
  };
  return (
    <section class="card settings" aria-labelledby="settings-h">
      <h2 id="settings-h">{t('room.settings')}</h2>
      {/* keyed by the config so a change from elsewhere re-fills the form */}
      <form onSubmit={save} key={JSON.stringify([room.name, room.description, room.config])}>
        <label>
          {t('create.name')}
          <input name="name" required maxLength={64} defaultValue={room.name} />
        </label>
        <label>
          {t('create.description')}
          <textarea name="description" maxLength={500} rows={2} defaultValue={room.description} />
        </label>
        <ConfigFields value={room.config} idPrefix="set" />
        <button type="submit">{t('room.save')}</button>
      </form>
      {msg.value && <p role="status">{msg.value}</p>}
      {err.value && <p class="error" role="alert">{err.value}</p>}
      <div class="danger">
        {confirm.value ? (
          <>
            <button type="button" class="danger" onClick={dissolve}>{t('room.dissolve_confirm')}</button>
            <button type="button" onClick={() => (confirm.value = false)}>{t('room.cancel')}</button>
          </>
        ) : (
          <button type="button" class="danger" onClick={() => (confirm.value = true)}>{t('room.dissolve')}</button>
        )}
      </div>
    </section>
  );
}
