// History-API routing.  Five routes do not need a router library: the path
// is one signal, links go through navigate(), and the server falls back to
// index.html for every path (see doc/web.md).
import { signal } from '@preact/signals';

const hasWindow = typeof window !== 'undefined';
export const path = signal(hasWindow ? location.pathname : '/');

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = location.pathname;
  window.scrollTo(0, 0);
}

if (hasWindow) {
  addEventListener('popstate', () => {
    path.value = location.pathname;
  });
}

export type Route =
  | { name: 'lobby' }
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'profile' }
  | { name: 'room'; id: number }
  | { name: 'notfound' };

export function match(p: string): Route {
  const clean = p.replace(/\/+$/, '') || '/';
  if (clean === '/') return { name: 'lobby' };
  if (clean === '/login') return { name: 'login' };
  if (clean === '/register') return { name: 'register' };
  if (clean === '/profile') return { name: 'profile' };
  const m = /^\/rooms\/(\d{1,15})$/.exec(clean);
  if (m) return { name: 'room', id: Number(m[1]) };
  return { name: 'notfound' };
}

/** onClick for <a href>: in-app navigation without a reload (modifier keys open a tab as usual). */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
