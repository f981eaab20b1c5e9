// app.mjs - everything scenario 9 knows about the web client and the API,
// in one place so it is easy to adjust when the client changes: the REST
// calls for set-up (Node's fetch), the login form's selectors, the room
// page's path, the <video> element, and the leader's WebSocket.

// ---- the pages (the Preact SPA in web/) ----
export const PATHS = {
  login: '/login',
  room: (id) => `/rooms/${id}`,
};

// The login form, by accessible name as Playwright recommends; Chinese
// first (the client's default language), English as a fallback.
export const SELECTORS = {
  username: (page) => page.getByLabel(/用户名|username/i).first(),
  password: (page) => page.getByLabel(/密码|password/i).first(),
  submit: (page) => page.getByRole('button', { name: /^\s*(登录|log ?in|sign ?in)\s*$/i }).first(),
  video: 'video',
  // the player's sync line (role=status): "同步状态：已同步 (-3 ms)", the
  // engine's own view of its drift (actual - expected, by its clock estimate)
  syncStatus: '.player .sync',
};

// Log a page in through the form; resolves once the page has left /login.
export async function loginPage(page, base, username, password, timeoutMs = 20000) {
  await page.goto(base + PATHS.login, { waitUntil: 'domcontentloaded' });
  const user = SELECTORS.username(page);
  await user.waitFor({ state: 'visible', timeout: timeoutMs });
  await user.fill(username);
  await SELECTORS.password(page).fill(password);
  await SELECTORS.submit(page).click();
  await page.waitForURL((u) => !u.pathname.startsWith(PATHS.login), { timeout: timeoutMs });
}

// ---- REST (set-up only) ----
export class Api {
  constructor(base) {
    this.base = base.replace(/\/$/, '') + '/api';
  }

  async call(method, path, { json, form, token } = {}) {
    const headers = {};
    let body;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(this.base + path, { method, headers, body });
    const text = await r.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text for the error */
    }
    return { status: r.status, data };
  }

  async must(want, method, path, opts) {
    const r = await this.call(method, path, opts);
    if (r.status !== want) {
      throw new Error(`${method} /api${path} answered ${r.status}: ${JSON.stringify(r.data).slice(0, 200)}`);
    }
    return r.data;
  }

  register(username, password) {
    return this.must(201, 'POST', '/users/', { json: { username, email: `${username}@bench.example`, password } });
  }

  async login(username, password) {
    const d = await this.must(200, 'POST', '/token', { form: { grant_type: 'password', username, password } });
    return d.access_token;
  }

  createRoom(token, name, config) {
    return this.must(201, 'POST', '/rooms/', { token, json: { name, config } });
  }

  join(token, roomId) {
    return this.must(200, 'POST', '/rooms/join', { token, json: { room_id: roomId } });
  }

  async ticket(token) {
    return (await this.must(200, 'POST', '/token/ws-ticket', { token })).ticket;
  }
}

// ---- the leader: play_control over /ws/rooms/{id} with a ticket ----
// Node 20 has WebSocket behind --experimental-websocket (sync.mjs is run
// with it); no npm package needed.
export class Leader {
  constructor(wsUrl) {
    this.wsUrl = wsUrl;
    this.seq = 0;
    this.waiting = new Map();
    this.playback = null; // the last playback state the server sent
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.wsUrl);
      this.ws = ws;
      let ready = false;
      const timer = setTimeout(() => reject(new Error('the leader\'s WebSocket did not get its snapshot in 20 s')), 20000);
      ws.onerror = () => { if (!ready) reject(new Error(`the leader's WebSocket to ${this.wsUrl.replace(/ticket=[^&]*/, 'ticket=…')} failed`)); };
      ws.onclose = (e) => { if (!ready) reject(new Error(`the leader's WebSocket closed: ${e.code} ${e.reason}`)); };
      ws.onmessage = (ev) => {
        let m;
        try {
          m = JSON.parse(ev.data);
        } catch {
          return;
        }
        const p = m.payload || {};
        if (m.type === 'room_event' && p.event === 'snapshot') {
          this.playback = p.playback || null;
          if (!ready) {
            ready = true;
            clearTimeout(timer);
            resolve();
          }
        }
        if (m.type === 'play_control' || m.type === 'progress_sync') this.playback = { ...p, at: Date.now() };
        if (m.ref !== undefined && this.waiting.has(m.ref)) {
          const w = this.waiting.get(m.ref);
          this.waiting.delete(m.ref);
          if (m.type === 'error') w.reject(new Error(`play_control refused: ${JSON.stringify(p)}`));
          else w.resolve(m);
        }
        // anything else (user_status, presence, heart_beat, ...) is ignored
      };
    });
  }

  // Sends one play_control; resolves with the sender's copy of the
  // broadcast.  t is Date.now() just before the send: the event's time.
  control(payload) {
    const id = ++this.seq;
    const t = Date.now();
    const done = new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      setTimeout(() => {
        if (this.waiting.delete(id)) reject(new Error(`no answer to play_control ${payload.action} in 10 s`));
      }, 10000);
    });
    this.ws.send(JSON.stringify({ type: 'play_control', id, payload }));
    return done.then((m) => ({ t, message: m }));
  }

  // Where the shared playback is now, by the server's last word.
  positionNow() {
    const p = this.playback;
    if (!p) return 0;
    const base = p.position_ms ?? 0;
    if (p.state !== 'playing') return base;
    const since = Date.now() - (p.server_ts ?? p.at ?? Date.now());
    return base + Math.max(0, since) * (p.rate ?? 1);
  }

  heartbeat() {
    this.ws.send(JSON.stringify({ type: 'heart_beat', payload: { client_ts: Date.now() } }));
  }

  close() {
    try {
      this.ws.close(1000, 'bye');
    } catch {
      /* closing only */
    }
  }
}
