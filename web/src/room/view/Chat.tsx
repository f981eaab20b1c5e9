// Chat: text only, rendered as text (Preact escapes; never innerHTML).
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { socket } from '../../ws';
import { t } from '../../i18n';
import type { RoomController } from '../model';

const MAX_TEXT = 2000;

export function ChatView({ ctl }: { ctl: RoomController }) {
  const text = useSignal('');
  const err = useSignal<string | null>(null);
  const logRef = useRef<HTMLOListElement>(null);
  const msgs = ctl.messages.value;
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [msgs.length]);
  const send = async (e: Event) => {
    e.preventDefault();
    const v = text.value.trim();
    if (!v) return;
    err.value = null;
    try {
      await socket.request('chat_message', { text: v.slice(0, MAX_TEXT) });
      text.value = '';
    } catch (x) {
      const code = (x as { code?: string }).code;
      err.value = code === 'rate_limited' ? t('err.rate_limited', { seconds: 1 }) : code ? String((x as Error).message) : t('conn.offline');
    }
  };
  return (
    <section class="card chat" aria-labelledby="chat-h">
      <h2 id="chat-h">{t('chat.title')}</h2>
      {!ctl.config.value?.keep_chat_history && <p class="muted">{t('chat.history_off')}</p>}
      <ol class="log" ref={logRef} aria-label={t('chat.log')} aria-live="polite">
        {msgs.length === 0 && <li class="muted">{t('chat.empty')}</li>}
        {msgs.map((m) => (
          <li key={m.id}>
            <time dateTime={new Date(m.created_at_ms).toISOString()}>
              {new Date(m.created_at_ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
            </time>{' '}
            <b>{m.username}</b>: <span class="text">{m.text}</span>
          </li>
        ))}
      </ol>
      <form class="row" onSubmit={send}>
        <input class="grow" aria-label={t('chat.input')} maxLength={MAX_TEXT} value={text.value}
          onInput={(e) => (text.value = (e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">{t('chat.send')}</button>
      </form>
      {err.value && <p class="error" role="alert">{err.value}</p>}
    </section>
  );
}
