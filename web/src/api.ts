// The REST client: base /api, the access token in memory only, silent
// refresh before expiry, one retry after a 401 through a refresh, 429 and
// 503 with their Retry-After, and readable errors.
//
// Where the refresh token lives: localStorage (key yq.refresh), so a
// session survives a reload and is shared by the tabs of one browser.  The
// backend has no cookie mode (SPEC §2: the refresh token travels in the
// body), so an httpOnly cookie is not an option; sessionStorage would not
// be safer against script injection and would log out every new tab.
// Refresh tokens are single use and a reuse revokes the family, so two
// tabs must never refresh with the same token: refreshes run under a Web
// Lock (navigator.locks) and re-read the stored token inside it.  See
// doc/web.md.
import { signal } from '@preact/signals';
import type { Me, Tokens } from './types';
import { navigate } from './router';

const BASE = '/api';
const REFRESH_KEY = 'yq.refresh';
/** Refresh when this share of the access token's life has passed. */
const REFRESH_AT = 0.8;

export interface FieldError { loc: (string | number)[]; msg: string; type: string }

export class ApiError extends Error {
  constructor(
    public status: number,
    public detail: string,
    public fields: FieldError[] = [],
    public retryAfter: number | null = null,
  ) {
    super(detail);
  }
}

/** Why the user is on the login page (shown there). */
export type AuthNotice = 'session_ended' | 'password_changed' | 'logged_out' | null;

export const me = signal<Me | null>(null);
export const authReady = signal(false);
export const authNotice = signal<AuthNotice>(null);
/** A site-wide banner: the server cannot be reached or is unavailable. */
export const banner = signal<'unreachable' | 'unavailable' | null>(null);

let access: string | null = null;
let accessExpAt = 0;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<void> | null = null;
const sessionListeners: ((loggedIn: boolean) => void)[] = [];

export function onSession(fn: (loggedIn: boolean) => void): void {
  sessionListeners.push(fn);
}

function storedRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefresh(v: string | null): void {
  try {
    if (v) localStorage.setItem(REFRESH_KEY, v);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* storage off: the session lasts as long as the page */
  }
}

function setTokens(tk: Tokens): void {
  access = tk.access_token;
  const ttl = Math.max(1, tk.expires_in) * 1000;
  accessExpAt = Date.now() + ttl;
  storeRefresh(tk.refresh_token);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refresh().catch(() => undefined);
  }, ttl * REFRESH_AT);
}

function clearTokens(): void {
  access = null;
  accessExpAt = 0;
  clearTimeout(refreshTimer);
  storeRefresh(null);
}

interface Opts { auth?: boolean; form?: boolean; retried?: boolean }

async function raw(method: string, path: string, body: unknown, opts: Opts): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    if (opts.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(body as Record<string, string>).toString();
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  if (opts.auth !== false && access) headers.Authorization = `Bearer ${access}`;
  try {
    return await fetch(BASE + path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch {
    banner.value = 'unreachable';
    throw new ApiError(0, 'unreachable');
  }
}

async function toError(r: Response): Promise<ApiError> {
  let detail = r.statusText || String(r.status);
  let fields: FieldError[] = [];
  try {
    const j = await r.json();
    if (typeof j?.detail === 'string') detail = j.detail;
    else if (Array.isArray(j?.detail)) {
      fields = j.detail as FieldError[];
      detail = fields.map((f) => f.msg).join('; ');
    }
  } catch {
    /* not JSON: keep the status text */
  }
  const ra = Number(r.headers.get('Retry-After'));
  return new ApiError(r.status, detail, fields, Number.isFinite(ra) && ra > 0 ? ra : null);
}

/** One request.  Throws ApiError; returns the parsed body (undefined for 204). */
export async function request<T>(method: string, path: string, body?: unknown, opts: Opts = {}): Promise<T> {
  const auth = opts.auth !== false;
  if (auth && (!access || Date.now() > accessExpAt - 5000) && storedRefresh()) await refresh();
  const r = await raw(method, path, body, opts);
  if (r.status === 401 && auth && !opts.retried) {
    await refresh();
    return request<T>(method, path, body, { ...opts, retried: true });
  }
  if (r.status === 401 && auth) {
    endSession('session_ended');
    throw await toError(r);
  }
  if (r.status === 503) banner.value = 'unavailable';
  else if (banner.value) banner.value = null;
  if (!r.ok) throw await toError(r);
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(p: string) => request<T>('GET', p);
export const post = <T>(p: string, b?: unknown) => request<T>('POST', p, b ?? {});
export const put = <T>(p: string, b?: unknown) => request<T>('PUT', p, b ?? {});
export const del = <T = void>(p: string) => request<T>('DELETE', p);

/** Rotate the refresh token; one at a time per browser (Web Lock across tabs). */
export function refresh(): Promise<void> {
  if (refreshing) return refreshing;
  const run = async () => {
    const rt = storedRefresh();
    if (!rt) {
      endSession('session_ended');
      throw new ApiError(401, 'no session');
    }
    const r = await raw('POST', '/token/refresh', { refresh_token: rt }, { auth: false });
    if (r.status === 401) {
      // Another tab may have rotated it while we waited for the lock.
      if (storedRefresh() !== rt) return run();
      endSession('session_ended');
      throw await toError(r);
    }
    if (!r.ok) throw await toError(r);
    setTokens((await r.json()) as Tokens);
  };
  const locked = navigator.locks ? () => navigator.locks.request('yq.refresh', run) : run;
  refreshing = locked().finally(() => {
    refreshing = null;
  }) as Promise<void>;
  return refreshing;
}

export async function login(username: string, password: string): Promise<void> {
  const r = await raw('POST', '/token', { username, password }, { auth: false, form: true });
  if (!r.ok) throw await toError(r);
  banner.value = null;
  setTokens((await r.json()) as Tokens);
  me.value = await get<Me>('/users/me');
  authNotice.value = null;
  sessionListeners.forEach((f) => f(true));
}

export async function register(b: { username: string; email: string; password: string; avatar_url?: string }): Promise<void> {
  await request<Me>('POST', '/users/', b, { auth: false });
  await login(b.username, b.password);
}

export async function logout(): Promise<void> {
  const rt = storedRefresh();
  if (rt && access) {
    try {
      await raw('POST', '/token/revoke', { refresh_token: rt }, {});
    } catch {
      /* offline: forget the tokens anyway */
    }
  }
  endSession('logged_out');
}

/** Forget the session and go to the login page saying why. */
export function endSession(why: AuthNotice): void {
  const was = me.value !== null || access !== null;
  clearTokens();
  me.value = null;
  // the first reason stands: a password change also closes this tab's
  // socket (4401), whose failed refresh must not relabel it
  if (was || !authNotice.value) authNotice.value = why;
  if (was) sessionListeners.forEach((f) => f(false));
  if (location.pathname !== '/login' && location.pathname !== '/register') navigate('/login', true);
}

/** At start: resume the stored session, if any. */
export async function restore(): Promise<void> {
  try {
    if (storedRefresh()) {
      await refresh();
      me.value = await get<Me>('/users/me');
      sessionListeners.forEach((f) => f(true));
    }
  } catch {
    /* endSession already ran, or the server is unreachable (banner) */
  } finally {
    authReady.value = true;
  }
}

export function accessToken(): string | null {
  return access;
}
