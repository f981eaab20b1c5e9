"""Shared helpers for the WebSocket tests (test_ws_*.py, SPEC section 5).

This module holds no tests of its own (the runner imports it like every
test_*.py and finds none); the test_ws_* modules import it.

The tests talk to the ws daemon(s) the way a browser would: through the
front end (ws://<YQ_BASE_URL host:port>/ws..., which nginx spreads over
the nodes round-robin) or, when a test must know which node it is on,
directly to node i at ws://127.0.0.1:<WS_PORT + i - 1>/ws..., with WS_PORT
and WS_NODES read from $YQ_STATE/env.

Client wraps one websockets (10.4, asyncio) connection:
  - every server message is parsed and checked (a JSON object with a string
    "type" and an integer "ts" near the current time) as it arrives;
  - expect(pred) reads until a message matches; messages that do not match
    are kept (pending) for later expects, so a test can wait for the
    messages it cares about in any order;
  - call() sends a message with a fresh "id" and returns the reply that
    carries it as "ref";
  - a keep-alive task sends heart_beat every heartbeat_timeout/3 seconds
    (the test stack closes silent connections after a few seconds); its
    replies are dropped before the test sees them.

WsTest.run(coro) runs one test body under asyncio.run with an overall time
limit and closes every connection the body opened, whatever happened.

Configuration comes from YQ_CONF ([ws] may appear twice; the last value
wins, which yq.read_conf already does), with the defaults of
etc/yiqikan.conf.sample.
"""

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse

import websockets

import yq
import yq_rooms

# --------------------------------------------------------------------------
# configuration of the stack under test


def ws_conf_int(key, default):
    return yq.conf_int("ws", key, default)


HEARTBEAT_TIMEOUT = ws_conf_int("heartbeat_timeout", 60)
PRESENCE_GRACE_MS = ws_conf_int("presence_grace_ms", 5000)
BURST = ws_conf_int("burst", 20)
ABUSE_LIMIT = ws_conf_int("abuse_limit", 50)
MAX_MESSAGE = ws_conf_int("max_message", 65536)
SENDQ_BYTES = ws_conf_int("sendq_bytes", 4194304)
RECENT_MESSAGES = ws_conf_int("recent_messages", 50)
PLAYBACK_SAVE_MS = ws_conf_int("playback_save_ms", 1000)
_rate = yq.conf_value("ws", "rate", "10/1").split("/")
RATE_PER_S = float(_rate[0]) / float(_rate[1])
KEEPALIVE_S = max(0.5, HEARTBEAT_TIMEOUT / 3.0)


def allowed_origins():
    v = yq.conf_value("ws", "allowed_origins", "")
    return [o for o in (p.strip() for p in v.replace(",", " ").split()) if o]


def stack_env():
    """$YQ_STATE/env as a dict (WS_PORT, WS_NODES, BUILD, ...)."""
    env = {}
    path = os.path.join(yq.STATE, "env") if yq.STATE else ""
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    env[k] = v
    return env


def ws_nodes():
    return int(stack_env().get("WS_NODES", "1"))


def node_port(i):
    env = stack_env()
    if "WS_PORT" not in env:
        raise AssertionError("no WS_PORT in $YQ_STATE/env (YQ_STATE=%r): "
                             "this test needs to reach the ws nodes "
                             "directly" % yq.STATE)
    return int(env["WS_PORT"]) + i - 1


def front_url():
    return "ws://%s:%d%s" % (yq.HOST, yq.PORT, yq.BASE_PATH)


def node_url(i):
    return "ws://127.0.0.1:%d" % node_port(i)


def base_url(node=None):
    return front_url() if node is None else node_url(node)


def now_ms():
    return int(time.time() * 1000)


def jwt_key():
    return yq.read_conf().get("auth", {}).get("jwt_key", "")


# --------------------------------------------------------------------------
# REST shortcuts (blocking; wrap in aio() where the event loop must run)


async def aio(fn, *args, **kw):
    """Run a blocking call (a REST request) in a thread."""
    return await asyncio.to_thread(fn, *args, **kw)


def ws_ticket(user):
    r = yq.post("/token/ws-ticket", token=user.access)
    if r.status != 200 or not isinstance(r.json, dict) \
            or not isinstance(r.json.get("ticket"), str):
        raise AssertionError("POST /token/ws-ticket: %r" % (r,))
    return r.json["ticket"]


def room_path(room):
    return "/ws/rooms/%d" % yq_rooms.room_id_of(room)


# --------------------------------------------------------------------------
# the client

_open_clients = []
_ids = itertools.count(1)


class ProtocolViolation(AssertionError):
    pass


class Client:
    """One WebSocket connection of a test user (see the module doc)."""

    def __init__(self, ws, label):
        self.ws = ws
        self.label = label
        self.pending = []       # received, not yet taken by expect()
        self.received = []      # everything received, in order
        self._ka = None
        self._ka_n = itertools.count(1)

    def __repr__(self):
        return "<Client %s>" % self.label

    # -- reading --

    def _check(self, raw):
        if not isinstance(raw, str):
            raise ProtocolViolation("%s: a binary frame from the server: %r"
                                    % (self.label, raw[:200]))
        try:
            m = json.loads(raw)
        except ValueError:
            raise ProtocolViolation("%s: server message is not JSON: %r"
                                    % (self.label, raw[:300]))
        if not isinstance(m, dict) or not isinstance(m.get("type"), str):
            raise ProtocolViolation("%s: server message is not an object "
                                    "with a string type: %r"
                                    % (self.label, raw[:300]))
        ts = m.get("ts")
        if not isinstance(ts, int) or isinstance(ts, bool) \
                or abs(ts - now_ms()) > 120000:
            raise ProtocolViolation("%s: server message without an epoch-ms "
                                    "\"ts\" near now: %r"
                                    % (self.label, raw[:300]))
        if "payload" in m and not isinstance(m["payload"], dict):
            raise ProtocolViolation("%s: payload is not an object: %r"
                                    % (self.label, raw[:300]))
        return m

    async def _read(self, timeout):
        """One message from the socket, keep-alive replies dropped.

        Raises asyncio.TimeoutError or websockets.ConnectionClosed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = max(0.0, deadline - loop.time())
            raw = await asyncio.wait_for(self.ws.recv(), left)
            m = self._check(raw)
            ref = m.get("ref")
            if isinstance(ref, str) and ref.startswith("ka-"):
                continue
            self.received.append(m)
            return m

    def _summary(self, msgs, n=12):
        out = []
        for m in msgs[-n:]:
            s = json.dumps(m, ensure_ascii=False)
            out.append(s if len(s) < 300 else s[:300] + "...")
        return "\n    ".join(out) or "(nothing)"

    async def expect(self, pred, timeout=5.0, what="a message"):
        """The first message (pending ones first) for which pred(m) is
        true; fail after timeout seconds."""
        for i, m in enumerate(self.pending):
            if pred(m):
                return self.pending.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError()
                m = await self._read(left)
            except asyncio.TimeoutError:
                raise AssertionError(
                    "%s: no %s within %.1fs; unmatched messages:\n    %s"
                    % (self.label, what, timeout,
                       self._summary(self.pending))) from None
            except websockets.ConnectionClosed as e:
                raise AssertionError(
                    "%s: connection closed (code %s %r) while waiting for "
                    "%s; unmatched messages:\n    %s"
                    % (self.label, e.code, e.reason, what,
                       self._summary(self.pending))) from None
            if pred(m):
                return m
            self.pending.append(m)

    async def expect_type(self, type_, timeout=5.0, **fields):
        """A message of type_ whose payload has the given field values."""
        def pred(m):
            if m["type"] != type_:
                return False
            p = m.get("payload", {})
            return all(p.get(k) == v for k, v in fields.items())
        return await self.expect(pred, timeout, "%s %r" % (type_, fields))

    async def expect_event(self, event, timeout=5.0):
        return await self.expect_type("room_event", timeout, event=event)

    async def expect_ref(self, ref, timeout=5.0):
        return await self.expect(lambda m: m.get("ref") == ref, timeout,
                                 "reply with ref %r" % (ref,))

    async def collect(self, duration, pred=lambda m: True):
        """Read for `duration` seconds; return the messages matching pred
        (they are taken; the others stay pending)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        got = [m for m in self.pending if pred(m)]
        self.pending = [m for m in self.pending if not pred(m)]
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return got
            try:
                m = await self._read(left)
            except asyncio.TimeoutError:
                return got
            except websockets.ConnectionClosed:
                return got
            if pred(m):
                got.append(m)
            else:
                self.pending.append(m)

    async def closed(self, timeout=5.0):
        """Wait for the server to close; return (code, reason).  Messages
        read meanwhile stay pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError()
                m = await self._read(left)
            except asyncio.TimeoutError:
                raise AssertionError(
                    "%s: still open after %.1fs; unmatched messages:\n    %s"
                    % (self.label, timeout, self._summary(self.pending))) \
                    from None
            except websockets.ConnectionClosed:
                self.stop_keepalive()
                return self.ws.close_code, self.ws.close_reason
            self.pending.append(m)

    # -- writing --

    async def send_raw(self, data):
        await self.ws.send(data)

    async def send(self, type_, payload=None, id=None, **top):
        msg = {"type": type_}
        if payload is not None:
            msg["payload"] = payload
        if id is not None:
            msg["id"] = id
        msg.update(top)
        await self.ws.send(json.dumps(msg, ensure_ascii=False))

    async def call(self, type_, payload=None, timeout=5.0):
        """Send with a fresh id; return the message that carries it as
        ref (the reply, the sender's copy of a broadcast, or an error)."""
        ref = "r%d" % next(_ids)
        await self.send(type_, payload, id=ref)
        return await self.expect_ref(ref, timeout)

    async def ok(self, type_, payload=None, timeout=5.0):
        """call() that must not be answered with an error."""
        m = await self.call(type_, payload, timeout)
        if m["type"] == "error":
            raise AssertionError("%s: %s %r refused: %r"
                                 % (self.label, type_, payload, m))
        return m

    async def refused(self, type_, payload=None, code=None, timeout=5.0):
        """call() that must be answered with an error (of code)."""
        m = await self.call(type_, payload, timeout)
        if m["type"] != "error" or (code and m["payload"].get("code")
                                    != code):
            raise AssertionError("%s: %s %r: expected error %s, got %r"
                                 % (self.label, type_, payload, code, m))
        return m

    async def ping(self, timeout=5.0):
        """A heart_beat round trip: proves the connection is open and
        served, and that everything sent before it was handled."""
        ts = now_ms()
        m = await self.call("heart_beat", {"client_ts": ts}, timeout)
        if m["type"] != "heart_beat" or m["payload"].get("client_ts") != ts:
            raise AssertionError("%s: heart_beat answered with %r"
                                 % (self.label, m))
        return m

    async def ready(self, timeout=5.0):
        """Wait until the connection is authenticated (for /ws, which sends
        nothing first): heart_beat until one is answered as such."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ref = "rdy%d" % next(_ids)
            await self.send("heart_beat", {"client_ts": now_ms()}, id=ref)
            # the refusal of a message sent before authentication has
            # finished comes without the ref (see test_ws_protocol)
            m = await self.expect(
                lambda m: m.get("ref") == ref or (
                    m["type"] == "error" and "ref" not in m and
                    "authenticat" in m["payload"].get("message", "")),
                max(0.1, deadline - loop.time()), "reply to %s" % ref)
            if m["type"] == "heart_beat":
                return
            if loop.time() > deadline:
                raise AssertionError("%s: not ready after %.1fs: %r"
                                     % (self.label, timeout, m))
            await asyncio.sleep(0.02)

    # -- keep-alive --

    def start_keepalive(self, interval=None):
        if self._ka is None:
            self._ka = asyncio.ensure_future(
                self._keepalive(interval or KEEPALIVE_S))

    def stop_keepalive(self):
        if self._ka is not None:
            self._ka.cancel()
            self._ka = None

    async def _keepalive(self, interval):
        try:
            while True:
                await asyncio.sleep(interval)
                await self.ws.send(json.dumps({
                    "type": "heart_beat", "id": "ka-%d" % next(self._ka_n),
                    "payload": {"client_ts": now_ms()}}))
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass

    # -- closing --

    async def close(self, timeout=2.0):
        self.stop_keepalive()
        try:
            await asyncio.wait_for(self.ws.close(), timeout)
        except (asyncio.TimeoutError, Exception):
            self.abort()

    def abort(self):
        self.stop_keepalive()
        t = getattr(self.ws, "transport", None)
        if t is not None:
            t.abort()


def make_url(path, user=None, auth="token", node=None, query=None,
             ticket=None):
    """The URL of path on the front end (node None) or node i."""
    q = []
    if auth == "token" and user is not None:
        q.append(("token", user.access))
    elif auth == "ticket":
        q.append(("ticket", ticket if ticket is not None
                  else ws_ticket(user)))
    if query:
        q += list(query.items()) if isinstance(query, dict) else list(query)
    url = base_url(node) + path
    if q:
        url += "?" + urllib.parse.urlencode(q)
    return url


async def open_ws(path="/ws", user=None, auth="token", node=None,
                  origin=None, headers=None, query=None, ticket=None,
                  label=None, sock=None, **kw):
    """Open a connection (the handshake only); return a Client.

    auth: "token" (?token=), "ticket" (a fresh ws ticket), "header"
    (Authorization: Bearer) or None.  Handshake failures propagate."""
    hdrs = dict(headers or {})
    if auth == "header" and user is not None:
        hdrs["Authorization"] = "Bearer " + user.access
    url = make_url(path, user, auth, node, query, ticket)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 2)
    kw.setdefault("max_size", 4 * 1024 * 1024)
    kw.setdefault("max_queue", None)
    if sock is not None:
        kw["sock"] = sock
    ws = await websockets.connect(url, origin=origin,
                                  extra_headers=hdrs or None, **kw)
    c = Client(ws, label or "%s%s@%s" % (
        getattr(user, "username", "anon"), path.replace("/ws", "")
        or "/ws", "front" if node is None else "node%d" % node))
    _open_clients.append(c)
    return c


def first_seen(msgs):
    """Notification messages with repeats of an id dropped (delivery is
    at-least-once: SPEC section 5 lets clients drop duplicates by id)."""
    seen, out = set(), []
    for m in msgs:
        i = m.get("payload", {}).get("id")
        if i not in seen:
            seen.add(i)
            out.append(m)
    return out


def is_snapshot(m):
    return m["type"] == "room_event" and \
        m.get("payload", {}).get("event") == "snapshot"


async def open_room(user, room, node=None, auth="token", keepalive=True,
                    query=None, **kw):
    """Connect user to the room; the first message must be the snapshot.
    Returns (client, snapshot payload)."""
    c = await open_ws(room_path(room), user, auth=auth, node=node,
                      query=query, **kw)
    try:
        first = await c._read(10)
    except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
        raise AssertionError("%s: no snapshot (%r, close code %s %r)"
                             % (c.label, e, c.ws.close_code,
                                c.ws.close_reason))
    if not is_snapshot(first):
        raise AssertionError("%s: the first message is not the room "
                             "snapshot: %r" % (c.label, first))
    if keepalive:
        c.start_keepalive()
    return c, first["payload"]


async def open_user(user, node=None, auth="token", keepalive=True, **kw):
    """Connect user to /ws and wait until it is served."""
    c = await open_ws("/ws", user, auth=auth, node=node, **kw)
    await c.ready()
    if keepalive:
        c.start_keepalive()
    return c


async def close_all():
    cs = list(_open_clients)
    del _open_clients[:]
    await asyncio.gather(*(c.close(1.0) for c in cs), return_exceptions=True)


# --------------------------------------------------------------------------
# nodes (for the multi-node and fault tests)


def pidfile(i):
    return os.path.join(yq.STATE, "run", "ws%d.pid" % i)


def node_pid(i):
    try:
        with open(pidfile(i)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def kill_node(i):
    """kill -9 ws node i (its pid from $YQ_STATE/run/ws<i>.pid); wait
    until it is gone; return the pid."""
    pid = node_pid(i)
    if not pid_alive(pid):
        raise AssertionError("ws node %d is not running (pid file %s)"
                             % (i, pidfile(i)))
    os.kill(pid, signal.SIGKILL)
    yq.wait_for(lambda: not pid_alive(pid), 10, what="node %d to die" % i)
    return pid


def port_open(port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_bindable(port):
    """Could a listener take 127.0.0.1:port now (SO_REUSEADDR, as lws)?
    Right after a kill -9 the kernel may still hold the port for a moment
    (seen as EADDRINUSE: the daemon then fails to start, and lws leaks on
    that path, which the sanitizer check counts)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_node(i):
    """Start ws node i the way ./devstack does (unless it runs), once its
    port can be bound; wait until the port accepts connections."""
    if pid_alive(node_pid(i)):
        return
    yq.wait_for(lambda: port_bindable(node_port(i)), 30, interval=0.1,
                what="ws node %d's port to be free" % i)
    env = stack_env()
    build = env.get("BUILD")
    if not build:
        raise AssertionError("no BUILD in $YQ_STATE/env")
    try:
        os.unlink(pidfile(i))
    except OSError:
        pass
    penv = dict(os.environ)
    penv["YIQIKAN_WS_PORT"] = str(node_port(i))
    penv["YIQIKAN_WS_NODE_ID"] = "node%d" % i
    log = open(os.path.join(yq.STATE, "log", "ws%d.out" % i), "ab")
    try:
        subprocess.Popen([os.path.join(build, "yiqikan-ws"), "-c", yq.CONF,
                          "-p", pidfile(i)], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, env=penv,
                         start_new_session=True)
    finally:
        log.close()
    yq.wait_for(lambda: pid_alive(node_pid(i)) and port_open(node_port(i)),
                15, interval=0.1, what="ws node %d to start" % i)


# --------------------------------------------------------------------------
# the test base class


ROOM_SUMMARY_KEYS = {"id", "name", "description", "owner", "member_count",
                     "config", "created_at"}
SNAPSHOT_KEYS = {"event", "room", "my_role", "members", "members_total",
                 "members_online", "members_partial", "playback",
                 "recent_messages"}
SNAPSHOT_MEMBERS = ws_conf_int("snapshot_members", 100)
# how many a larger room's cut list holds (at least one, at most the above)
SNAPSHOT_PARTIAL = max(1, min(ws_conf_int("snapshot_partial_members", 20), SNAPSHOT_MEMBERS))
SNAPSHOT_MEMBER_KEYS = {"id", "username", "avatar_url", "role", "online"}
PLAYBACK_KEYS = {"media_url", "state", "position_ms", "rate", "version",
                 "updated_at_ms", "position_now_ms"}
CHAT_KEYS = {"id", "room_id", "user_id", "username", "text",
             "created_at_ms"}
NOTIFICATION_KEYS = {"id", "type", "content", "status", "created_at",
                     "read_at"}


class WsTest(yq_rooms.RoomTest):
    """Base class: run() and the assertions the ws tests share."""

    # the time limit of one test body (seconds)
    limit = 60

    def run_async(self, coro, limit=None):
        async def body():
            try:
                return await asyncio.wait_for(coro, limit or self.limit)
            finally:
                await close_all()
        return asyncio.run(body())

    def need_nodes(self, n=2):
        if ws_nodes() < n:
            self.skipTest("the stack runs %d ws node(s); this test needs %d"
                          % (ws_nodes(), n))

    # -- shapes --

    def assertError(self, m, code=None, ref=None):
        self.assertEqual(m["type"], "error", "%r" % (m,))
        p = m["payload"]
        self.assertIn(p.get("code"), ("bad_request", "unknown_type",
                                      "forbidden", "rate_limited",
                                      "too_large", "not_found", "internal"),
                      "%r" % (m,))
        self.assertIsInstance(p.get("message"), str, "%r" % (m,))
        if code is not None:
            self.assertEqual(p["code"], code, "%r" % (m,))
        if ref is not None:
            self.assertEqual(m.get("ref"), ref, "%r" % (m,))

    def assertSnapshot(self, snap, room=None, my_role=None):
        self.assertEqual(set(snap), SNAPSHOT_KEYS, "snapshot keys: %r"
                         % (snap,))
        r = snap["room"]
        self.assertTrue(ROOM_SUMMARY_KEYS <= set(r), "room %r" % (r,))
        self.assertIsInstance(r["id"], int)
        self.assertIsInstance(r["name"], str)
        self.assertIsInstance(r["description"], str)
        self.assertUserRef(r["owner"])
        self.assertIsInstance(r["member_count"], int)
        self.assertTrue(yq_rooms.CONFIG_KEYS <= set(r["config"]),
                        "config %r" % (r["config"],))
        self.assertTime(r["created_at"])
        if room is not None:
            self.assertEqual(r["id"], room["id"])
            self.assertEqual(r["name"], room["name"])
            self.assertEqual(r["owner"], room["owner"])
        if my_role is not None:
            self.assertEqual(snap["my_role"], my_role, "%r" % (snap,))
        self.assertIsInstance(snap["members"], list)
        for m in snap["members"]:
            self.assertEqual(set(m), SNAPSHOT_MEMBER_KEYS, "member %r"
                             % (m,))
            self.assertIn(m["role"], ("owner", "moderator", "member"))
            self.assertIsInstance(m["online"], bool)
        # a large room's list is cut (doc/protocol.md, "Large rooms")
        total = snap["members_total"]
        self.assertIsInstance(total, int)
        self.assertEqual(total, r["member_count"],
                         "members_total vs member_count: %r" % (snap,))
        self.assertIs(snap["members_partial"],
                      bool(SNAPSHOT_MEMBERS) and total > SNAPSHOT_MEMBERS)
        self.assertEqual(len(snap["members"]),
                         SNAPSHOT_PARTIAL if snap["members_partial"] else total,
                         "members vs members_total: %r" % (snap,))
        self.assertIsInstance(snap["members_online"], int)
        self.assertGreaterEqual(snap["members_online"],
                                sum(m["online"] for m in snap["members"]))
        self.assertLessEqual(snap["members_online"], total)
        pb = snap["playback"]
        self.assertEqual(set(pb), PLAYBACK_KEYS, "playback %r" % (pb,))
        self.assertIn(pb["state"], ("playing", "paused"))
        for k in ("position_ms", "version", "updated_at_ms",
                  "position_now_ms"):
            self.assertIsInstance(pb[k], int, "playback.%s %r" % (k, pb))
        self.assertIsInstance(pb["rate"], (int, float))
        self.assertIsInstance(snap["recent_messages"], list)
        for c in snap["recent_messages"]:
            self.assertChat(c)

    def assertChat(self, p, room=None, user=None, text=None):
        self.assertEqual(set(p), CHAT_KEYS, "chat payload %r" % (p,))
        for k in ("id", "room_id", "user_id", "created_at_ms"):
            self.assertIsInstance(p[k], int, "chat.%s %r" % (k, p))
        if room is not None:
            self.assertEqual(p["room_id"], yq_rooms.room_id_of(room))
        if user is not None:
            self.assertEqual(p["user_id"], user.id, "%r" % (p,))
            self.assertEqual(p["username"], user.username, "%r" % (p,))
        if text is not None:
            self.assertEqual(p["text"], text)

    def assertNotification(self, n, type_=None):
        self.assertEqual(set(n), NOTIFICATION_KEYS, "notification %r" % (n,))
        self.assertIsInstance(n["id"], int)
        self.assertIsInstance(n["content"], dict)
        self.assertIn(n["status"], ("unread", "read"))
        self.assertTime(n["created_at"])
        if type_ is not None:
            self.assertEqual(n["type"], type_, "%r" % (n,))

    def member_of(self, snap, user):
        for m in snap["members"]:
            if m["id"] == user.id:
                return m
        self.fail("%s is not in the snapshot's members: %r"
                  % (user.username, snap["members"]))

    # -- refusals --

    async def assertNotServed(self, path, user=None, node=None, origin=None,
                              close_code=None, error_code=None, **kw):
        """The connection is refused in one of the two ways SPEC section 5
        allows: an HTTP 4xx answer to the upgrade (or, directly on a node,
        no answer at all), or an accepted upgrade followed by an error (of
        error_code) and a close with close_code.  Never served: no
        snapshot, no heart_beat answer."""
        try:
            c = await open_ws(path, user, node=node, origin=origin,
                              open_timeout=5, **kw)
        except (websockets.InvalidHandshake, OSError, EOFError,
                asyncio.TimeoutError) as e:
            status = getattr(e, "status_code", None)
            self.assertTrue(status is None or 400 <= status < 500,
                            "%s (node %s, Origin %r) refused with HTTP %s"
                            % (path, node, origin, status))
            return "handshake"
        try:
            await c.send("heart_beat", {"client_ts": 1}, id="probe")
        except websockets.ConnectionClosed:
            pass
        await self.assertRefusal(c, close_code, error_code)
        served = [m for m in c.pending if is_snapshot(m) or
                  m["type"] == "heart_beat"]
        self.assertEqual(served, [], "%s (node %s, Origin %r) was served "
                         "before the refusal" % (path, node, origin))
        return "closed"

    # -- refusals after the upgrade --

    async def assertRefusal(self, client, close_code, error_code=None,
                            timeout=5.0):
        """The server sends an error (of error_code) and closes with
        close_code."""
        code, reason = await client.closed(timeout)
        errors = [m for m in client.pending if m["type"] == "error"]
        if error_code is not None:
            self.assertTrue(errors, "%s: closed %s without an error message"
                            % (client.label, code))
            self.assertError(errors[0], error_code)
        self.assertEqual(code, close_code, "%s: close code %s %r, messages "
                         "%r" % (client.label, code, reason, client.pending))
        return errors
