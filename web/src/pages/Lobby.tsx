// The lobby: public rooms and mine, search, paging; create a room.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { get, post } from '../api';
import { navigate, linkClick } from '../router';
import { describe } from '../errors';
import { t } from '../i18n';
import { ConfigFields, DEFAULTS, readConfig } from '../components/ConfigFields';
import type { Page, Room } from '../types';

const LIMIT = 20;

function RoomList() {
  const mine = useSignal(false);
  const q = useSignal('');
  const items = useSignal<Room[]>([]);
  const next = useSignal<string | null>(null);
  const err = useSignal<string | null>(null);
  const loading = useSignal(false);

  const load = async (cursor: string | null) => {
    const p = new URLSearchParams({ limit: String(LIMIT) });
    if (mine.value) p.set('mine', 'true');
    if (q.value) p.set('q', q.value);
    if (cursor) p.set('cursor', cursor);
    loading.value = true;
    err.value = null;
    try {
      const r = await get<Page<Room>>(`/rooms/?${p}`);
      items.value = cursor ? [...items.value, ...r.items] : r.items;
      next.value = r.next_cursor;
    } catch (e) {
      err.value = describe(e);
    } finally {
      loading.value = false;
    }
  };
  useEffect(() => void load(null), []);

  const tab = (m: boolean, label: string) => (
    <button type="button" role="tab" aria-selected={mine.value === m} class={mine.value === m ? 'tab on' : 'tab'}
      onClick={() => { mine.value = m; void load(null); }}>{label}</button>
  );
  return (
    <section class="card" aria-labelledby="rooms-h">
      <h2 id="rooms-h">{t('lobby.rooms')}</h2>
      <div role="tablist" aria-label={t('lobby.tabs')}>
        {tab(false, t('lobby.public'))}
        {tab(true, t('lobby.mine'))}
      </div>
      <form role="search" class="row" onSubmit={(e) => { e.preventDefault(); void load(null); }}>
        <input class="grow" type="search" aria-label={t('lobby.search')} placeholder={t('lobby.search')} maxLength={64}
          value={q.value} onInput={(e) => (q.value = (e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">{t('lobby.search_button')}</button>
      </form>
      {err.value && <p class="error" role="alert">{err.value}</p>}
      {items.value.length === 0 && !loading.value && <p class="muted">{t('lobby.empty')}</p>}
      <ul class="rooms">
        {items.value.map((r) => (
          <li key={r.id}>
            <a href={`/rooms/${r.id}`} onClick={linkClick} aria-label={t('lobby.open', { name: r.name })}>{r.name}</a>
            <span class="tag">{r.config.is_public ? t('room.public') : t('room.private')}</span>
            {r.config.require_approval && <span class="tag">{t('cfg.require_approval')}</span>}
            <p class="muted">
              {t('lobby.owner', { name: r.owner.username })} ·{' '}
              {t('lobby.members', { n: r.member_count, max: r.config.max_members, online: r.online_count ?? 0 })}
            </p>
            {r.description && <p>{r.description}</p>}
          </li>
        ))}
      </ul>
      {next.value && <button type="button" disabled={loading.value} onClick={() => load(next.value)}>{t('lobby.more')}</button>}
    </section>
  );
}

function CreateRoom() {
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    busy.value = true;
    err.value = null;
    try {
      const r = await post<Room>('/rooms/', {
        name: String(f.get('name')).trim(),
        description: String(f.get('description') ?? ''),
        config: readConfig(f),
      });
      navigate(`/rooms/${r.id}`);
    } catch (x) {
      err.value = describe(x);
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="card" aria-labelledby="create-h">
      <h2 id="create-h">{t('create.title')}</h2>
      <form onSubmit={submit}>
        <label>
          {t('create.name')}
          <input name="name" required maxLength={64} />
        </label>
        <label>
          {t('create.description')}
          <textarea name="description" maxLength={500} rows={2} />
        </label>
        <ConfigFields value={DEFAULTS} idPrefix="new" />
        {err.value && <p class="error" role="alert">{err.value}</p>}
        <button type="submit" disabled={busy.value}>{t('create.button')}</button>
      </form>
    </section>
  );
}

export function LobbyPage() {
  return (
    <div class="lobby">
      <h1 class="sr-only">{t('lobby.title')}</h1>
      <RoomList />
      <CreateRoom />
    </div>
  );
}
