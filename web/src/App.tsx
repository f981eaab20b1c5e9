// The shell: header, banner, the page for the route; the session's side
// effects (user channel socket, notifications) live here.
import { useEffect } from 'preact/hooks';
import { effect } from '@preact/signals';
import { me, authReady, onSession } from './api';
import { path, match, navigate } from './router';
import { socket } from './ws';
import { loadNotifications } from './notify';
import { t } from './i18n';
import { Header } from './components/Header';
import { Banner } from './components/Banner';
import { LoginPage, RegisterPage } from './pages/Auth';
import { LobbyPage } from './pages/Lobby';
import { RoomPage } from './pages/Room';
import { ProfilePage } from './pages/Profile';

onSession((inn) => {
  if (inn) {
    loadNotifications().catch(() => undefined).finally(() => {
      // the room page opens its own socket; anywhere else the user channel
      if (!socket.current) socket.open('/ws');
    });
  } else socket.open(null);
});

// document.title follows the language
effect(() => {
  document.title = t('app.name');
});

export function App() {
  const route = match(path.value);
  const user = me.value;
  const ready = authReady.value;
  const publicPage = route.name === 'login' || route.name === 'register';

  useEffect(() => {
    if (!ready) return;
    if (!user && !publicPage) navigate(`/login?next=${encodeURIComponent(location.pathname)}`, true);
    if (user && publicPage) navigate(new URLSearchParams(location.search).get('next') || '/', true);
  }, [ready, user, publicPage]);

  let page = null;
  if (!ready) page = <p class="muted">{t('room.loading')}</p>;
  else if (route.name === 'login') page = <LoginPage />;
  else if (route.name === 'register') page = <RegisterPage />;
  else if (!user) page = null;
  else if (route.name === 'lobby') page = <LobbyPage />;
  else if (route.name === 'room') page = <RoomPage key={route.id} id={route.id} />;
  else if (route.name === 'profile') page = <ProfilePage />;
  else page = <h1>{t('notfound.title')}</h1>;

  return (
    <>
      <Header />
      <Banner />
      <main id="main">{page}</main>
    </>
  );
}
