#!/usr/bin/python3
"""yiqikan benchmark harness: data, wrk runs, results.

Called by tests/bench/run.sh once the baselines are up; not meant to be run
by hand (run.sh passes every coordinate).  For each scenario it creates the
data every side needs through the sides' own APIs (registration, login,
room creation) or, for bulk rows, with SQL; checks each side answers the
measured request correctly; then runs wrk against each side back to back
with the same threads, connections and duration, and writes
<results>/<UTC stamp>.json and .md.

Exit status: 0 every requested scenario ran and every run is valid (targets
may be missed: they are reported); 1 something could not run (the reason is
printed and recorded); 2 it ran, but a run had more than 1% failed requests
(non-2xx or socket errors), so its figure is marked invalid.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timezone

PASSWORD = "bench-Passw0rd!"
INVALID_PCT = 1.0

SIDE_LABELS = {
    "ours": "yiqikan (C FastCGI)",
    "fastapi": "FastAPI + uvicorn",
    "php": "PHP-FPM",
    "nginx": "nginx return 200",
    "socketio": "Socket.IO (Node)",
    "lws": "lws broadcast (no logic)",
}

WS_SCENARIOS = {5: "WebSocket", 6: "WebSocket", 7: "WebSocket", 8: "WebSocket", 10: "WebSocket"}
# the baselines a WebSocket scenario needs
WS_NEEDS = {5: ("socketio", "lws"), 8: ("lws",), 10: ("lws",)}
WS_LABELS = dict(SIDE_LABELS, ours="yiqikan-ws")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class SetupError(Exception):
    pass


# --------------------------------------------------------------------------
# HTTP (set-up and checks only; the load is wrk's)

_rng = random.SystemRandom()


def request(base, method, path, body=None, form=None, token=None, timeout=30):
    """One request; returns (status, parsed JSON or text).  Each request
    comes from a random 127.x.y.z so per-address rate limits on register
    and login are not tripped by the set-up itself."""
    u = urllib.parse.urlsplit(base)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = "Bearer " + token
    src = "127.%d.%d.%d" % (_rng.randint(1, 254), _rng.randint(0, 255), _rng.randint(1, 254))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout, source_address=(src, 0))
    try:
        conn.request(method, u.path.rstrip("/") + path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except OSError as e:
        raise SetupError("%s %s%s: %s" % (method, base, path, e))
    finally:
        conn.close()
    text = raw.decode("utf-8", "replace")
    try:
        return resp.status, json.loads(text) if text else None
    except ValueError:
        return resp.status, text


def short(x):
    s = x if isinstance(x, str) else json.dumps(x)
    return s[:200]


# --------------------------------------------------------------------------
# SQL through the root socket


class DB:
    def __init__(self, socket):
        self.socket = socket

    def run(self, db, sql):
        p = subprocess.run(["mariadb", "--socket=" + self.socket, "-uroot", "-N", "-B", "-D", db, "-e", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SetupError("SQL on %s failed: %s" % (db, p.stderr.strip()[:300]))
        return [line.split("\t") for line in p.stdout.splitlines()]

    def scalar(self, db, sql):
        rows = self.run(db, sql)
        return rows[-1][0] if rows else None


# --------------------------------------------------------------------------
# the sides with an API of their own: accounts, tokens, data


class ApiSide:
    """ours (prefix /api on our nginx) or fastapi (prefix /fastapi on the
    bench nginx): both speak the same REST dialect for what is measured."""

    def __init__(self, name, base, prefix, db, dbname, tag):
        self.name = name
        self.base = base          # http://127.0.0.1:port
        self.prefix = prefix      # /api or /fastapi
        self.url = base + prefix
        self.db = db
        self.dbname = dbname
        self.tag = tag
        self.registered = set()
        self.ids = {}
        self.notif_count = None
        self.room_id = None

    def username(self, what):
        return "%s%s" % (self.tag, what)

    def register(self, what):
        if what in self.registered:
            return
        name = self.username(what)
        st, body = request(self.url, "POST", "/users/",
                        body={"username": name, "email": name + "@bench.example", "password": PASSWORD})
        if st != 201 or not isinstance(body, dict) or body.get("username") != name:
            raise SetupError("%s: POST %s/users/ answered %s: %s" % (self.name, self.prefix, st, short(body)))
        self.ids[what] = int(body["id"])
        self.registered.add(what)

    def register_many(self, whats):
        todo = [w for w in whats if w not in self.registered]
        if not todo:
            return
        log("%s: registering %d users" % (self.name, len(todo)))
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(self.register, todo))

    def login(self, what):
        st, body = request(self.url, "POST", "/token",
                        form={"grant_type": "password", "username": self.username(what), "password": PASSWORD})
        if st != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise SetupError("%s: POST %s/token answered %s: %s" % (self.name, self.prefix, st, short(body)))
        return body["access_token"]

    def login_many(self, whats):
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            return list(ex.map(self.login, whats))

    def ensure_notifications(self, n):
        if self.notif_count == n:
            return
        self.register("n")
        uid = self.ids["n"]
        self.db.run(self.dbname, "DELETE FROM notifications WHERE user_id = %d" % uid)
        content = "JSON_OBJECT('message', CONCAT('bench notification ', seq), 'n', seq)"
        if self.name == "ours":
            sql = ("INSERT INTO notifications (user_id, type, content) "
                   "SELECT %d, 'system', %s FROM seq_1_to_%d ORDER BY seq" % (uid, content, n))
        else:
            sql = ("INSERT INTO notifications (user_id, type, content, status, created_at) "
                   "SELECT %d, 'system', %s, 'unread', UTC_TIMESTAMP() FROM seq_1_to_%d ORDER BY seq"
                   % (uid, content, n))
        self.db.run(self.dbname, sql)
        self.notif_count = n

    def ensure_room(self):
        if self.room_id:
            return self.room_id
        self.register("o")
        if self.name == "ours":
            tok = self.login("o")
            st, body = request(self.url, "POST", "/rooms/", token=tok,
                            body={"name": "bench " + self.tag, "config": {"max_members": 1000}})
            if st != 201 or not isinstance(body, dict) or "id" not in body:
                raise SetupError("ours: POST /api/rooms/ answered %s: %s" % (st, short(body)))
            self.room_id = int(body["id"])
        else:
            uid = self.ids["o"]
            rid = self.db.scalar(self.dbname, (
                "INSERT INTO rooms (owner_id, name, description, is_public, require_approval, max_members, "
                "member_count, created_at) VALUES (%d, 'bench %s', '', 1, 0, 1000, 1, UTC_TIMESTAMP()); "
                "SET @r = LAST_INSERT_ID(); "
                "INSERT INTO room_members (room_id, user_id, role, joined_at) "
                "VALUES (@r, %d, 'owner', UTC_TIMESTAMP()); SELECT @r;") % (uid, self.tag, uid))
            self.room_id = int(rid)
        return self.room_id


# --------------------------------------------------------------------------
# wrk


class Runner:
    def __init__(self, args):
        self.a = args
        self.wrkdir = os.path.join(args.root, "tests", "bench", "wrk")
        self.logdir = os.path.join(args.state, "logs")
        self.datadir = os.path.join(args.state, "data")
        os.makedirs(self.logdir, exist_ok=True)
        os.makedirs(self.datadir, exist_ok=True)

    def wrk(self, label, base, script, script_args, threads=None, connections=None, duration=None,
            timeout=10):
        t = threads or self.a.threads
        c = connections or self.a.connections
        d = duration if duration is not None else self.a.duration
        cmd = ["wrk", "-t", str(t), "-c", str(c), "-d", "%ds" % d, "--timeout", "%ds" % timeout,
               "-s", os.path.join(self.wrkdir, script), base, "--"] + [str(x) for x in script_args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=d + 120)
        with open(os.path.join(self.logdir, label + ".txt"), "w") as f:
            f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr)
        m = re.search(r"^WRKJSON (\{.*\})$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise SetupError("wrk failed for %s (exit %d): %s" % (label, p.returncode,
                                                                  (p.stderr or p.stdout).strip()[-300:]))
        r = json.loads(m.group(1))
        secs = r["duration_us"] / 1e6
        e = r["errors"]
        sock = e["connect"] + e["read"] + e["write"] + e["timeout"]
        failed = e["status"] + sock
        fail_pct = 100.0 * failed / max(r["requests"] + sock, 1)
        lat = r["latency_us"]
        return {
            "threads": t, "connections": c, "duration_s": round(secs, 3),
            "requests": r["requests"], "rps": round(r["requests"] / secs, 1) if secs else 0.0,
            "latency_ms": {k: round(lat[k] / 1000.0, 3) for k in ("p50", "p90", "p99", "mean", "max")},
            "latency_visible_pct": lat.get("visible_pct"),
            "non2xx": e["status"], "socket_errors": {k: e[k] for k in ("connect", "read", "write", "timeout")},
            "failed_pct": round(fail_pct, 3), "valid": fail_pct <= INVALID_PCT and r["requests"] > 0,
        }

    def measure(self, label, base, script, script_args, before=None, **kw):
        """A warm-up run (not recorded) then the measured run; before() is
        called ahead of each, to put the data back in its starting state."""
        if self.a.warmup > 0:
            if before:
                before()
            self.wrk(label + "-warmup", base, script, script_args, threads=kw.get("threads"),
                     connections=kw.get("connections"), timeout=kw.get("timeout", 10), duration=self.a.warmup)
        if before:
            before()
        r = self.wrk(label, base, script, script_args, **kw)
        log("%-28s %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  failed %.2f%%%s" % (
            label, r["rps"], r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["failed_pct"],
            "" if r["valid"] else "  INVALID"))
        return r

    def tokens_file(self, name, tokens):
        path = os.path.join(self.datadir, name + ".tokens")
        with open(path, "w") as f:
            f.write("\n".join(tokens) + "\n")
        return path


# --------------------------------------------------------------------------
# scenarios


def expect(side, what, st, body, want_status, check=None):
    if st != want_status or (check and not check(body)):
        raise SetupError("%s: %s answered %s: %s" % (side, what, st, short(body)))


def scenario_1(h):
    """GET /users/me"""
    a, run = h.a, h.run
    res = {"runs": {}}
    users = ["u%d" % i for i in range(a.threads)]
    toks = {}
    for name in ("ours", "fastapi"):
        if name in h.api:
            h.api[name].register_many(users)
            toks[name] = h.api[name].login_many(users)
    plan = []
    if "ours" in toks:
        plan.append(("ours", a.ours_url, "/api/users/me", toks["ours"], h.api["ours"]))
    if "fastapi" in toks:
        plan.append(("fastapi", a.bench_url, "/fastapi/users/me", toks["fastapi"], h.api["fastapi"]))
        if "php" in h.available:
            plan.append(("php", a.bench_url, "/php/users/me", toks["fastapi"], h.api["fastapi"]))
    if "nginx" in h.available:
        plan.append(("nginx", a.bench_url, "/ceiling", None, None))
    for name, base, path, tk, side in plan:
        st, body = request(base, "GET", path, token=tk[0] if tk else None)
        if side:
            expect(name, "GET " + path, st, body, 200,
                   lambda b: isinstance(b, dict) and b.get("username") == side.username(users[0]))
        else:
            expect(name, "GET " + path, st, body, 200)
        tf = run.tokens_file("s1-" + name, tk) if tk else "-"
        res["runs"][name] = run.measure("s1-" + name, base, "get.lua", [path, tf])
    return res


def scenario_2(h):
    """GET /notifications/?limit=20 for a user with N notifications"""
    a, run = h.a, h.run
    res = {"runs": {}, "notifications": a.notifications}
    for name, base, prefix in (("ours", a.ours_url, "/api"), ("fastapi", a.bench_url, "/fastapi")):
        if name not in h.api:
            continue
        side = h.api[name]
        side.ensure_notifications(a.notifications)
        tok = side.login("n")
        path = prefix + "/notifications/?limit=20"
        want = min(20, a.notifications)
        st, body = request(base, "GET", path, token=tok)
        expect(name, "GET " + path, st, body, 200,
               lambda b: isinstance(b, dict) and len(b.get("items", [])) == want
               and b.get("unread_count") == a.notifications)
        tf = run.tokens_file("s2-" + name, [tok])
        res["runs"][name] = run.measure("s2-" + name, base, "get.lua", [path, tf])
    return res


def scenario_3(h):
    """room join+leave cycle"""
    a, run = h.a, h.run
    res = {"runs": {}, "users": a.room_users}
    users = ["u%d" % i for i in range(a.room_users)]
    for name, base, prefix in (("ours", a.ours_url, "/api"), ("fastapi", a.bench_url, "/fastapi")):
        if name not in h.api:
            continue
        side = h.api[name]
        room = side.ensure_room()
        side.register_many(users)
        log("%s: logging in %d users, each joins the room" % (name, len(users)))
        toks = side.login_many(users)

        def join(tok):
            st, body = request(base, "POST", prefix + "/rooms/join", token=tok, body={"room_id": room})
            expect(name, "POST %s/rooms/join" % prefix, st, body, 200,
                   lambda b: isinstance(b, dict) and b.get("room_id") == room)

        def members():
            return int(side.db.scalar(side.dbname, "SELECT COUNT(*) FROM room_members WHERE room_id = %d" % room))

        def everyone_in():
            # A wrk run ends with cycles in flight: nginx may drop the second
            # request of a pipelined pair when wrk hangs up, leaving a user
            # outside the room, and the server may still be working through
            # the rest.  Wait until the room is quiet, then (re)join everyone
            # (joining is idempotent), so each run starts with all members.
            last, stable, deadline = -1, 0, time.time() + 30
            while stable < 3 and time.time() < deadline:
                n = members()
                stable = stable + 1 if n == last else 0
                last = n
                time.sleep(0.2)
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                list(ex.map(join, toks))
            if members() != len(users) + 1:
                raise SetupError("%s: the room has %d members after everyone joined, want %d"
                                 % (name, members(), len(users) + 1))

        everyone_in()
        # one cycle by hand, as wrk will send it
        st, body = request(base, "POST", prefix + "/rooms/leave", token=toks[0], body={"room_id": room})
        expect(name, "POST %s/rooms/leave" % prefix, st, body, 204)
        join(toks[0])
        tf = run.tokens_file("s3-" + name, ["%d %s" % (side.ids[u], t) for u, t in zip(users, toks)])
        r = run.measure("s3-" + name, base, "join_leave.lua", [prefix, room, tf, a.threads],
                        before=everyone_in)
        r["cycles_per_s"] = round(r["rps"] / 2, 1)
        res["runs"][name] = r
    return res


def scenario_4(h):
    """login"""
    a, run = h.a, h.run
    res = {"runs": {}, "single": {}}
    for name, base, prefix in (("ours", a.ours_url, "/api"), ("fastapi", a.bench_url, "/fastapi")):
        if name not in h.api:
            continue
        side = h.api[name]
        side.register("u0")
        side.login("u0")
        args = [prefix + "/token", side.username("u0"), PASSWORD]
        # logins queue behind the hash: 64 connections wait seconds, so the
        # timeout that counts a request as failed is 30 s here, not 10 s
        res["runs"][name] = run.measure("s4-" + name, base, "login.lua", args, timeout=30)
        # one connection: the latency of a single login, i.e. one argon2id
        # verification plus the request around it
        res["single"][name] = run.wrk("s4-" + name + "-c1", base, "login.lua", args, threads=1,
                                      connections=1, duration=max(1, min(a.duration, 5)))
    return res


# --------------------------------------------------------------------------
# WebSocket scenarios (5-8): yq-wsload against yiqikan-ws directly (its
# port, not through nginx), the baselines likewise


FANOUT_RATIO_TARGET = 5.0       # ours / Socket.IO, deliveries/s at saturation
FANOUT_ABS_TARGET = 250000.0    # deliveries/s from the one lws service thread
IDLE_CONNS_TARGET = 50000
IDLE_SECONDS_TARGET = 300
RSS_PER_CONN_TARGET = 4096      # bytes
NOTIFY_P50_TARGET_MS = 10.0
NOTIFY_P99_TARGET_MS = 50.0
SKEW_P99_TARGET_MS = 5.0
FD_RESERVE = 200                # descriptors a process keeps for itself
CLIENT_BOUND_PCT = 90.0         # a load generator this busy is (part of) the limit


def ws_pid(h):
    try:
        with open(h.a.ws_pid_file) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        raise SetupError("the ws daemon is not running (no live pid in %s)" % h.a.ws_pid_file)


def pid_of(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def nofile_limits(pid):
    """(soft, hard) open-file limits of a process, from /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                conv = lambda v: 1 << 62 if v == "unlimited" else int(v)  # noqa: E731
                return conv(soft), conv(hard)
    raise SetupError("no open-file limit in /proc/%d/limits" % pid)


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M)
            return int(m.group(1)) if m else -1
    except OSError:
        return -1


def proc_cpu_s(pid):
    """utime + stime of a process in seconds, -1 when unreadable."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return -1


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def ms(us):
    return round(us / 1000.0, 3) if us is not None and us >= 0 else None


def ws_members(h):
    """The room of scenarios 5 and 8: a.members members (the owner "wo" and
    a.members - 1 users who join), keep_chat_history off, max_members
    a.members.  Created once per harness run."""
    if getattr(h, "ws_room", None):
        return h.ws_room
    a, side = h.a, h.api["ours"]
    users = ["w%d" % i for i in range(a.members - 1)]
    side.register_many(["wo"] + users)
    tok = side.login("wo")
    st, body = request(side.url, "POST", "/rooms/", token=tok, body={
        "name": "bench ws " + side.tag,
        "config": {"max_members": a.members, "keep_chat_history": False}})
    if st != 201 or not isinstance(body, dict) or "id" not in body:
        raise SetupError("ours: POST /api/rooms/ answered %s: %s" % (st, short(body)))
    room = int(body["id"])
    log("ours: %d users join room %d" % (len(users), room))
    toks = side.login_many(users)

    def join(t):
        s, b = request(side.url, "POST", "/rooms/join", token=t, body={"room_id": room})
        expect("ours", "POST /api/rooms/join", s, b, 200, lambda x: isinstance(x, dict) and x.get("room_id") == room)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(join, toks))
    n = int(side.db.scalar(side.dbname, "SELECT COUNT(*) FROM room_members WHERE room_id = %d" % room))
    if n != a.members:
        raise SetupError("ours: room %d has %d members, want %d" % (room, n, a.members))
    h.ws_room = (room, ["wo"] + users)
    return h.ws_room


def ws_tokens(h, name, users):
    """Fresh tokens (15 min) for users, in order, into a tokens file."""
    log("ours: logging in %d users for %s" % (len(users), name))
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        toks = list(ex.map(h.api["ours"].login, users))
    return h.run.tokens_file(name, toks), toks


def run_json(h, label, cmd, timeout):
    """Run a load generator that prints its result as one JSON line on
    stdout; its command line and output go to logs/<label>.txt."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise SetupError("%s: %s did not finish in %d s" % (label, os.path.basename(cmd[0]), e.timeout))
    with open(os.path.join(h.run.logdir, label + ".txt"), "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr)
    r = None
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                r = json.loads(line)
            except ValueError:
                pass
            break
    if r is None or p.returncode not in (0, 1):
        raise SetupError("%s: %s failed (exit %d): %s" % (label, os.path.basename(cmd[0]), p.returncode,
                                                          (p.stderr or p.stdout).strip()[-300:]))
    if not r.get("conns_ok"):
        raise SetupError("%s: no connection authenticated (connect errors %s, close codes %s): %s" % (
            label, json.dumps(r.get("connect_errors")), json.dumps(r.get("close_codes")),
            p.stderr.strip()[-200:]))
    return r


def load_summary(r, rate_mode=False):
    """The figures of one yq-wsload / load.js run, and whether it is valid:
    every connection authenticated, none dropped, no error messages,
    something delivered, and (open loop) at most 1% of the sends skipped
    because the window was full."""
    lat = r.get("latency_us") or {}
    srv = r.get("server") or {}
    problems = []
    if r["conns_ok"] < r["conns"]:
        problems.append("%d of %d connections failed" % (r["conns"] - r["conns_ok"], r["conns"]))
    if r.get("conns_dropped"):
        problems.append("%d dropped (%s)" % (r["conns_dropped"], json.dumps(r.get("close_codes"))))
    if r.get("errors"):
        problems.append("error messages %s" % json.dumps(r["errors"]))
    if not r.get("received_in_window"):
        problems.append("nothing delivered in the window")
    tried = r.get("sent", 0) + r.get("skipped", 0)
    if rate_mode and tried and r.get("skipped", 0) > tried * INVALID_PCT / 100:
        problems.append("%d of %d sends skipped (window full)" % (r["skipped"], tried))
    want = (r.get("rate") or 0) * r.get("duration_s", 0) * max(r.get("senders", 1), 1)
    if rate_mode and want and tried < 0.9 * want:
        problems.append("the generator sent %d of %d scheduled messages" % (tried, want))
    out = {
        "conns": r["conns"], "conns_ok": r["conns_ok"], "conns_failed": r.get("conns_failed", 0),
        "conns_dropped": r.get("conns_dropped", 0), "rate": r.get("rate"), "window": r.get("window"),
        "size": r.get("size"), "sent": r.get("sent"), "acked": r.get("acked"), "skipped": r.get("skipped"),
        "received_in_window": r.get("received_in_window"), "deliveries_per_s": r.get("deliveries_per_s"),
        "deliveries_per_second": r.get("deliveries_per_second"),
        "latency_ms": {k: ms(lat.get(k)) for k in ("p50", "p90", "p99", "p999", "max")},
        "ramp_s": round(r.get("ramp_s", 0), 2), "duration_s": round(r.get("duration_s", 0), 3),
        "client_cpu_pct": round(r.get("client_cpu_pct", -1), 1),
        "max_send_lag_ms": ms(r.get("max_send_lag_us")),
        "server_cpu_pct": round(srv.get("cpu_pct", -1), 1) if srv else None,
        "server_cpu_us_per_delivery": cpu_per_delivery(r),
        "valid": not problems,
    }
    mt = r.get("metrics")
    if mt is not None:
        out["metrics"] = {k: mt.get(k) for k in ("available", "queues_emptied", "wait_ms", "queue_at_start",
                                                   "queue_at_end", "queue_peak", "server_deliveries_in_window",
                                                   "last_error")}
    if r.get("storm"):
        out["storm"] = r["storm"]
        out["auth_ms"] = {k: ms((r.get("auth_us") or {}).get(k)) for k in ("p50", "p90", "p99", "max")}
        out["rss_kb"] = {k: srv.get("rss_%s_kb" % k) for k in ("before", "peak", "end")}
    if problems:
        out["problems"] = "; ".join(problems)
    if "skew_us" in r:
        sk = r["skew_us"]
        out["skew_ms"] = {k: ms(sk.get(k)) for k in ("p50", "p90", "p99", "max")}
        out["skew_broadcasts"] = sk.get("broadcasts", 0)
        out["skew_receivers_avg"] = round(sk.get("receivers_avg", 0), 1)
        out["skew_keyed_by"] = "version" if sk.get("keyed_by_version") else (
            "sender's sequence" if sk.get("keyed_by_seq") else None)
    return out


def cpu_per_delivery(r):
    """Server CPU (utime + stime from /proc/PID/stat over the window) per
    broadcast received in the window, in µs; None when unknown.  From
    cpu_pct × window so yq-wsload and load.js are treated alike."""
    srv = r.get("server") or {}
    cpu, secs, n = srv.get("cpu_pct", -1), r.get("duration_s", 0), r.get("received_in_window", 0)
    if cpu is None or cpu < 0 or not secs or not n:
        return None
    return round(cpu / 100.0 * secs * 1e6 / n, 2)


def fanout_cmd(h, side, url, tokens, pid, conns, duration, rate, window):
    a = h.a
    if side == "socketio":
        cmd = ["node", os.path.join(a.socketio_dir, "load.js"), "--url", url]
    else:
        cmd = [a.wsload, "--url", url, "--tokens", tokens]
    cmd += ["--conns", conns, "--ramp", a.ws_ramp, "--senders", 1, "--rate", rate, "--window", window,
            "--size", 64, "--duration", duration, "--quiet-ms", a.ws_quiet_ms, "--drain-ms", a.ws_drain_ms,
            "--settle", 60, "--json"]
    if side != "socketio":
        cmd += ["--heartbeat", 20]
    if pid:
        cmd += ["--server-pid", pid]
    if side == "ours":
        cmd += metrics_args(h)
    return [str(x) for x in cmd]


def metrics_args(h):
    """yq-wsload waits for the daemon's send queues to be empty before a
    window opens, when the daemon has its metrics listener."""
    return ["--metrics", h.a.ws_metrics, "--queue-wait-ms", h.a.queue_wait_ms] if h.a.ws_metrics else []


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def read_metrics(h):
    """The daemon's metrics as {name{labels}: value}; None without them."""
    if not h.a.ws_metrics:
        return None
    try:
        host, port = h.a.ws_metrics.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=2)
        c.request("GET", "/metrics")
        resp = c.getresponse()
        text = resp.read().decode("utf-8", "replace")
        c.close()
        if resp.status != 200:
            return None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        k, _, v = line.rpartition(" ")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            pass
    return out


def queued(m):
    return sum(v for k, v in m.items() if k.split("{")[0] == "yiqikan_ws_send_queue_messages")


def wait_queues_empty(h, what):
    """Before a window that yq-wsload does not open (scenario 7): poll the
    metric until the daemon's send queues are empty, at most
    --queue-wait-ms.  Returns what the results record."""
    if not h.a.ws_metrics:
        return {"available": False}
    t0 = time.time()
    m = None
    while time.time() - t0 < h.a.queue_wait_ms / 1000.0:
        m = read_metrics(h)
        if m is not None and "yiqikan_ws_send_queue_messages" in " ".join(m):
            if queued(m) == 0:
                return {"available": True, "queues_emptied": True, "wait_ms": int((time.time() - t0) * 1000)}
        elif m is None and time.time() - t0 > 2:
            return {"available": False}
        time.sleep(0.02)
    log("%s: the daemon's send queues did not empty within %d ms (%s queued): measuring anyway"
        % (what, h.a.queue_wait_ms, int(queued(m)) if m else "?"))
    return {"available": True, "queues_emptied": False, "wait_ms": int((time.time() - t0) * 1000),
            "queue_at_start": int(queued(m)) if m else None}


def fanout_timeout(h, conns, duration):
    return int(conns / h.a.ws_ramp + 60 + duration + (h.a.ws_quiet_ms + h.a.ws_drain_ms) / 1000.0 + 60)


def scenario_5(h):
    """fan-out: one room, one sender"""
    a = h.a
    room, users = ws_members(h)
    res = {"ws_runs": {}, "members": a.members}
    tf, _ = ws_tokens(h, "s5-ours", users)
    # the baselines get no real token: they check none
    dummy = h.run.tokens_file("s5-baseline", ["bench"])
    plan = [("ours", "%s/ws/rooms/%d" % (a.ws_url, room), ws_pid(h))]
    if "lws" in h.available:
        plan.append(("lws", a.lws_url + "/", pid_of(a.lws_pid_file)))
    if "socketio" in h.available:
        plan.append(("socketio", a.socketio_url, pid_of(a.socketio_pid_file)))
    for side, url, pid in plan:
        if side != "ours" and not pid:
            res.setdefault("unavailable", {})[side] = "its server is not running"
            continue
        try:
            fanout_side(h, res, side, url, dummy if side != "ours" else tf, pid)
        except SetupError as e:
            if side == "ours":
                raise
            res.setdefault("unavailable", {})[side] = str(e)
            log("s5-%s could not run: %s" % (side, e))
    return res


def fanout_side(h, res, side, url, tf, pid):
    """Scenario 5 for one side: warm-up, saturation, half of it."""
    a, n = h.a, h.a.members
    if a.warmup > 0:
        run_json(h, "s5-%s-warmup" % side, fanout_cmd(h, side, url, tf, pid, n, a.warmup, 0, 64),
                 fanout_timeout(h, n, a.warmup))
    r = run_json(h, "s5-%s-sat" % side, fanout_cmd(h, side, url, tf, pid, n, a.duration, 0, 64),
                 fanout_timeout(h, n, a.duration))
    sat = load_summary(r)
    res["ws_runs"][side + "-sat"] = sat
    log("%-28s %9s deliveries/s  p50 %7.2f ms  p99 %7.2f ms  client cpu %.0f%%  server cpu %s%s" % (
        "s5-%s saturation" % side, fmt_num(sat["deliveries_per_s"]), sat["latency_ms"]["p50"] or 0,
        sat["latency_ms"]["p99"] or 0, sat["client_cpu_pct"],
        "%.0f%%" % sat["server_cpu_pct"] if sat["server_cpu_pct"] is not None else "?",
        "" if sat["valid"] else "  INVALID: " + sat["problems"]))
    # latency at half of this side's saturation: one sender, open loop
    receivers = max(sat["conns_ok"] - 1, 1)
    rate = max(1, int(round(sat["deliveries_per_s"] / receivers / 2.0)))
    # no window: a server that stalls must not be spared the sends it
    # falls behind on (that would hide its stall from the latency)
    r = run_json(h, "s5-%s-half" % side, fanout_cmd(h, side, url, tf, pid, n, a.duration, rate, 0),
                 fanout_timeout(h, n, a.duration))
    half = load_summary(r, rate_mode=True)
    res["ws_runs"][side + "-half"] = half
    log("%-28s %9s deliveries/s  p50 %7.2f ms  p99 %7.2f ms  (%d msg/s)%s" % (
        "s5-%s half" % side, fmt_num(half["deliveries_per_s"]), half["latency_ms"]["p50"] or 0,
        half["latency_ms"]["p99"] or 0, rate, "" if half["valid"] else "  INVALID: " + half["problems"]))
    if side == "socketio":
        return  # load.js has no idle mode; the goal compares with the lws ceiling
    # idle: the same connections, heart_beats only, CPU over the window
    cmd = [a.wsload, "--url", url, "--tokens", tf, "--conns", n, "--ramp", a.ws_ramp, "--idle",
           "--heartbeat", 20, "--duration", a.duration, "--quiet-ms", a.ws_quiet_ms, "--drain-ms", 0,
           "--settle", 60, "--server-pid", pid, "--json"]
    if side == "ours":
        cmd += metrics_args(h)
    r = run_json(h, "s5-%s-idle" % side, [str(x) for x in cmd], fanout_timeout(h, n, a.duration))
    idle = load_summary(r)
    if not r.get("conns_dropped") and r["conns_ok"] == r["conns"] and not r.get("errors"):
        idle.pop("problems", None)
        idle["valid"] = True  # nothing is delivered while idle: that is the point
    res["ws_runs"][side + "-idle"] = idle
    log("%-28s %d connections, server cpu %s%s" % (
        "s5-%s idle" % side, idle["conns_ok"],
        "%.1f%%" % idle["server_cpu_pct"] if idle["server_cpu_pct"] is not None else "?",
        "" if idle["valid"] else "  INVALID: " + idle.get("problems", "")))


def scenario_6(h):
    """idle authenticated connections"""
    a = h.a
    pid = ws_pid(h)
    room, users = ws_members(h)
    target, secs = a.idle_conns, a.idle_seconds
    soft, hard = nofile_limits(pid)
    cap = max(soft - FD_RESERVE, 0)
    n = min(target, cap)
    res = {"ws_runs": {}, "target_conns": target, "seconds": secs, "heartbeat_s": a.idle_heartbeat,
           "daemon_nofile": [soft, hard], "conns": n}
    if n < target:
        res["limited"] = ("the ws daemon's open-file limit is %d (hard %d): it can hold about %d connections, "
                          "not %s; start yiqikan-ws under `ulimit -n %d` or more (the hard limit must allow it)"
                          % (soft, hard, cap, "{:,}".format(target), target + 10000))
        log("scenario 6: " + res["limited"])
    if n < 1:
        raise SetupError(res["limited"])
    import resource
    csoft, chard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_proc = max(chard - FD_RESERVE, 100)
    procs = -(-n // per_proc)
    nsrc = max(2, -(-n // 20000))
    res.update(client_nofile=chard, processes=procs, sources="127.0.0.1-127.0.0.%d" % nsrc)
    tf, _ = ws_tokens(h, "s6-ours", users)
    rss_before = proc_rss_kb(pid)
    fds_before = proc_fds(pid)
    ramp = a.idle_ramp / procs
    running = []
    for i in range(procs):
        c = n // procs + (1 if i < n % procs else 0)
        cmd = [str(x) for x in [a.wsload, "--url", a.ws_url + "/ws", "--tokens", tf, "--conns", c,
                                "--source-range", res["sources"], "--ramp", ramp, "--idle",
                                "--heartbeat", a.idle_heartbeat, "--duration", secs, "--quiet-ms", 1000,
                                "--drain-ms", 500, "--settle", 120, "--server-pid", pid, "--json"]
                                + metrics_args(h)]
        logf = open(os.path.join(h.run.logdir, "s6-ours-%d.txt" % i), "w")
        logf.write("$ " + " ".join(cmd) + "\n")
        logf.flush()
        running.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=logf, text=True), logf))
    log("scenario 6: %d connections from %d yq-wsload process(es) over %s, idle for %d s"
        % (n, procs, res["sources"], secs))
    samples = []  # (seconds since start, daemon fds, daemon RSS kB)
    t0 = time.time()
    deadline = t0 + n / a.idle_ramp + 120 + secs + 60
    while any(p.poll() is None for p, _ in running):
        samples.append((round(time.time() - t0, 1), proc_fds(pid), proc_rss_kb(pid)))
        if time.time() > deadline:
            for p, _ in running:
                p.kill()
            raise SetupError("scenario 6: yq-wsload did not finish in %d s" % (deadline - t0))
        time.sleep(1)
    results = []
    for i, (p, logf) in enumerate(running):
        out = p.stdout.read()
        logf.write(out)
        logf.close()
        line = next((x for x in reversed(out.splitlines()) if x.startswith("{")), None)
        if p.returncode not in (0, 1) or not line:
            raise SetupError("scenario 6: yq-wsload %d failed (exit %d), see %s" % (
                i, p.returncode, os.path.join(h.run.logdir, "s6-ours-%d.txt" % i)))
        results.append(json.loads(line))
    ok = sum(r["conns_ok"] for r in results)
    dropped = sum(r.get("conns_dropped", 0) for r in results)
    failed = sum(r.get("conns_failed", 0) for r in results)
    # the daemon's RSS with every connection open: the last sample at the
    # highest descriptor count, i.e. the end of the idle period
    top = max((s[1] for s in samples), default=-1)
    at = [s for s in samples if s[1] == top]
    rss_at = at[-1][2] if at else -1
    per_conn = (rss_at - rss_before) * 1024.0 / ok if ok and rss_at > 0 and rss_before > 0 else None
    close_codes = {}
    for r in results:
        for k, v in (r.get("close_codes") or {}).items():
            close_codes[k] = close_codes.get(k, 0) + v
    res.update(conns_ok=ok, conns_failed=failed, conns_dropped=dropped, close_codes=close_codes,
               fds_before=fds_before, fds_max=top, rss_before_kb=rss_before, rss_all_open_kb=rss_at,
               rss_max_kb=max((s[2] for s in samples), default=-1),
               rss_per_conn_bytes=round(per_conn) if per_conn is not None else None,
               ramp_s=max(r.get("ramp_s", 0) for r in results),
               idle_s=min(r.get("duration_s", 0) for r in results),
               heartbeats=sum(r.get("heartbeats", 0) for r in results),
               heartbeat_replies=sum(r.get("heartbeat_replies", 0) for r in results),
               client_cpu_pct=[round(r.get("client_cpu_pct", -1), 1) for r in results],
               server_cpu_pct=[round((r.get("server") or {}).get("cpu_pct", -1), 1) for r in results][0],
               samples=samples[:: max(1, len(samples) // 200)])
    res["valid"] = ok == n and dropped == 0 and failed == 0
    log("%-28s %d of %d authenticated, %d failed, %d dropped; RSS %d -> %d kB = %s bytes/connection" % (
        "s6-ours", ok, n, failed, dropped, rss_before, rss_at,
        "%.0f" % per_conn if per_conn is not None else "?"))
    return res


async def _notify(h, invitees, inviter_tok, room, samples):
    """The measurement of scenario 7 on one event loop: the invitees'
    /ws connections (through our nginx, as a browser's) each with a reader
    that timestamps invite_notification arrivals by invitation id; the
    REST calls run in one thread on a keep-alive connection so the loop
    keeps reading while a request is under way."""
    import asyncio
    import websockets  # Debian's python3-websockets
    loop = asyncio.get_running_loop()
    u = urllib.parse.urlsplit(h.a.ours_url)
    ws_base = "ws://%s:%d/ws" % (u.hostname, u.port)
    arrivals, waiters = {}, {}

    class Http:
        def __init__(self):
            self.c = None

        def post(self, path, body, token):
            data = json.dumps(body).encode()
            hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
            for attempt in (0, 1):
                if self.c is None:
                    self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                    self.c.connect()
                t0 = time.perf_counter()
                try:
                    self.c.request("POST", "/api" + path, body=data, headers=hdr)
                    resp = self.c.getresponse()
                    raw = resp.read()
                    break
                except (OSError, http.client.HTTPException):
                    self.c.close()
                    self.c = None
                    if attempt:
                        raise
            text = raw.decode("utf-8", "replace")
            try:
                return t0, resp.status, json.loads(text) if text else None
            except ValueError:
                return t0, resp.status, text

    httpc = Http()
    pool = concurrent.futures.ThreadPoolExecutor(1)

    async def post(path, body, token):
        return await loop.run_in_executor(pool, httpc.post, path, body, token)

    async def reader(ws):
        async for raw in ws:
            t = time.perf_counter()
            if '"invite_notification"' not in raw:
                continue
            m = json.loads(raw)
            inv = (m.get("payload") or {}).get("content", {}).get("invitation_id")
            arrivals[inv] = t
            f = waiters.pop(inv, None)
            if f and not f.done():
                f.set_result(t)

    conns = []
    try:
        for uid, tok in invitees:
            ws = await websockets.connect(ws_base + "?token=" + tok, compression=None, max_size=1 << 20,
                                          open_timeout=20)
            conns.append(ws)
            await ws.send(json.dumps({"type": "heart_beat", "id": 1, "payload": {"client_ts": int(time.time() * 1000)}}))
            while True:  # authenticated when the heart_beat is answered
                m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if m.get("type") == "error":
                    raise SetupError("ours: /ws refused an invitee: %s" % short(m))
                if m.get("ref") == 1:
                    break
        readers = [asyncio.ensure_future(reader(ws)) for ws in conns]
        # the window opens on empty send queues (the connects' traffic)
        h.s7_metrics = await loop.run_in_executor(None, wait_queues_empty, h, "scenario 7")
        h.s7_cpu0, h.s7_t0 = proc_cpu_s(h.s7_pid), time.time()

        async def heartbeats():
            while True:
                await asyncio.sleep(20)
                for ws in conns:
                    await ws.send(json.dumps({"type": "heart_beat", "payload": {"client_ts": int(time.time() * 1000)}}))
        hb = asyncio.ensure_future(heartbeats())
        lat, lost = [], 0
        rng = random.Random(7)
        for i in range(samples):
            uid, tok = invitees[i % len(invitees)]
            t0, st, body = await post("/rooms/invite", {"room_id": room, "user_id": uid}, inviter_tok)
            if st != 201 or not isinstance(body, dict) or "id" not in body:
                raise SetupError("ours: POST /api/rooms/invite answered %s: %s" % (st, short(body)))
            inv = int(body["id"])
            t1 = arrivals.pop(inv, None)
            if t1 is None:
                f = loop.create_future()
                waiters[inv] = f
                try:
                    t1 = await asyncio.wait_for(f, 5)
                except asyncio.TimeoutError:
                    waiters.pop(inv, None)
                    lost += 1
            if t1 is not None:
                lat.append((t1 - t0) * 1000.0)
            # decline, so the same user can be invited again (not timed)
            _, st, body = await post("/rooms/invitations/%d/decline" % inv, {}, tok)
            if st != 200:
                raise SetupError("ours: POST /api/rooms/invitations/%d/decline answered %s: %s" % (inv, st, short(body)))
            # out of step with the daemon's queue polling
            await asyncio.sleep(rng.uniform(0, 0.005))
        h.s7_cpu1, h.s7_t1 = proc_cpu_s(h.s7_pid), time.time()
        hb.cancel()
        for t in readers:
            t.cancel()
        return lat, lost
    finally:
        for ws in conns:
            try:
                await ws.close()
            except Exception:  # noqa: BLE001 - closing only
                pass
        pool.shutdown(wait=False)


def pct_of(sorted_vals, q):
    """nearest-rank percentile"""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 1)) - 1))
    return round(sorted_vals[k], 3)


def scenario_7(h):
    """notification latency: REST invite -> the invitee's /ws"""
    try:
        import asyncio
        import websockets
        del websockets  # _notify() imports it again; here only: is it there?
    except ImportError:
        raise SetupError("python3-websockets is not installed (Debian package python3-websockets)")
    a, side = h.a, h.api["ours"]
    room_ws, users = ws_members(h)
    pool = users[1:1 + min(a.samples, 100, len(users) - 1)]
    side.register("wi")
    itok = side.login("wi")
    st, body = request(side.url, "POST", "/rooms/", token=itok, body={"name": "bench invites " + side.tag})
    if st != 201 or not isinstance(body, dict) or "id" not in body:
        raise SetupError("ours: POST /api/rooms/ answered %s: %s" % (st, short(body)))
    room = int(body["id"])
    _, toks = ws_tokens(h, "s7-ours", pool)
    invitees = [(side.ids[u], t) for u, t in zip(pool, toks)]
    log("scenario 7: %d invitations to %d users connected to /ws through nginx" % (a.samples, len(pool)))
    h.s7_pid = ws_pid(h)
    try:
        lat, lost = asyncio.run(_notify(h, invitees, itok, room, a.samples))
    except SetupError:
        raise
    except Exception as e:  # noqa: BLE001 - websockets, sockets, timeouts: say what
        raise SetupError("scenario 7's client failed: %s: %s" % (type(e).__name__, e))
    lat.sort()
    res = {"samples": a.samples, "invitees": len(pool), "received": len(lat), "lost": lost,
           "latency_ms": {"p50": pct_of(lat, 0.50), "p90": pct_of(lat, 0.90), "p99": pct_of(lat, 0.99),
                          "max": round(lat[-1], 3) if lat else None,
                          "mean": round(sum(lat) / len(lat), 3) if lat else None},
           "valid": lost <= a.samples * INVALID_PCT / 100 and bool(lat),
           "metrics": getattr(h, "s7_metrics", None)}
    c0, c1 = getattr(h, "s7_cpu0", -1), getattr(h, "s7_cpu1", -1)
    if c0 >= 0 and c1 >= c0 and lat:
        secs = h.s7_t1 - h.s7_t0
        res["server_cpu_pct"] = round(100 * (c1 - c0) / secs, 1) if secs > 0 else None
        # per notification delivered (each sample is one REST call + one push)
        res["server_cpu_us_per_delivery"] = round((c1 - c0) * 1e6 / len(lat), 1)
    log("%-28s %d samples  p50 %s ms  p99 %s ms  lost %d" % (
        "s7-ours", len(lat), res["latency_ms"]["p50"], res["latency_ms"]["p99"], lost))
    return res


def scenario_8(h):
    """sync skew of a play_control"""
    a = h.a
    room, users = ws_members(h)   # users[0] is the owner
    tf, _ = ws_tokens(h, "s8-ours", users)
    res = {"ws_runs": {}, "members": a.members, "rate": a.skew_rate}
    plan = [("ours", "%s/ws/rooms/%d" % (a.ws_url, room), ws_pid(h))]
    dummy = h.run.tokens_file("s8-baseline", ["bench"])
    if "lws" in h.available and pid_of(a.lws_pid_file):
        plan.append(("lws", a.lws_url + "/", pid_of(a.lws_pid_file)))
    for side, url, pid in plan:
        cmd = [str(x) for x in [a.wsload, "--url", url, "--tokens", tf if side == "ours" else dummy,
                                "--conns", a.members, "--ramp", a.ws_ramp,
                                "--senders", 1, "--type", "play_control", "--rate", a.skew_rate,
                                "--window", 64, "--duration", a.duration, "--quiet-ms", a.ws_quiet_ms,
                                "--drain-ms", a.ws_drain_ms, "--heartbeat", 20, "--server-pid", pid, "--json"]
               + (metrics_args(h) if side == "ours" else [])]
        try:
            r = run_json(h, "s8-" + side, cmd, fanout_timeout(h, a.members, a.duration))
        except SetupError as e:
            if side == "ours":
                raise
            res["ceiling_skew"] = "could not run: %s" % e
            continue
        s = load_summary(r, rate_mode=True)
        if (r.get("errors") or {}).get("forbidden"):
            raise SetupError("ours: play_control refused (forbidden): the first token is not the owner's")
        if side == "lws" and not s.get("skew_broadcasts"):
            # yq-wsload keys the verbatim broadcast by the sender's sequence
            res["ceiling_skew"] = "no play_control reached two receivers (see s8-lws.txt)"
            continue
        res["ws_runs"][side] = s
        log("%-28s skew p50 %s ms  p99 %s ms  max %s ms  (%d broadcasts to %.0f receivers)%s" % (
            "s8-" + side, s["skew_ms"]["p50"], s["skew_ms"]["p99"], s["skew_ms"]["max"], s["skew_broadcasts"],
            s["skew_receivers_avg"], "" if s["valid"] else "  INVALID: " + s["problems"]))
        if side == "ours" and not s.get("skew_broadcasts"):
            raise SetupError("ours: no play_control broadcast reached two receivers (see s8-ours.txt)")
    return res


BROWSER_P95_TARGET_MS = 33.0   # one frame at 30 fps
RESYNC_TARGET_MS = 1000.0


def scenario_9(h):
    """browser sync: N Chromium pages of the web client in one room"""
    a = h.a
    if a.browser_unavailable:
        raise SetupError(a.browser_unavailable)
    pages, secs = (2, 12) if a.tiny else (a.browser_pages, a.browser_seconds)
    dump = os.path.join(h.run.logdir, "s9-pages.json")
    cmd = ["node", "--experimental-websocket", os.path.join(a.root, "tests", "bench", "browser", "sync.mjs"),
           "--base", a.ours_url, "--media-dir", a.media_dir, "--pages", str(pages), "--seconds", str(secs),
           "--dump", dump] + (["--self-check"] if a.browser_self_check else [])
    log("scenario 9: %d Chromium pages for %d s%s" % (pages, secs, " (self-check)" if a.browser_self_check else ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 300)
    except subprocess.TimeoutExpired:
        raise SetupError("scenario 9: sync.mjs did not finish in %d s" % (secs + 300))
    with open(os.path.join(h.run.logdir, "s9.txt"), "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr)
    line = next((x for x in reversed(p.stdout.splitlines()) if x.startswith("{")), None)
    try:
        r = json.loads(line) if line else {}
    except ValueError:
        r = {}
    if p.returncode == 3:
        raise SetupError("the web client is not there: %s" % r.get("unavailable"))
    if p.returncode != 0 or "steady" not in r:
        raise SetupError("scenario 9: sync.mjs failed (exit %d): %s" % (
            p.returncode, (r.get("error") or p.stderr.strip()[-300:] or "no output")[:400]))
    # it ran and every page presented frames (sync.mjs checks that): a
    # client that never agrees has no steady state, and misses its goal,
    # it does not make the run invalid
    r["valid"] = True
    if not r["steady"]["n"]:
        r["note"] = "no steady-state instant: the pages never re-synced while all were playing"
    for x in r.get("resync", []):
        log("%-28s re-sync after %-6s %s (player clocks: %s)" % (
            "s9", x["kind"], "%d ms" % x["resync_ms"] if x["resync_ms"] is not None
            else "never (within the span to the next event)",
            "%d ms" % x["clock_resync_ms"] if x.get("clock_resync_ms") is not None else "never"))
    st = r["steady"]
    log("%-28s steady-state pairwise drift p50 %s / p95 %s / max %s ms over %s s" % (
        "s9", st["p50"], st["p95"], st["max"], r.get("steady_s")))
    sc = r.get("steady_clock") or {}
    if sc.get("n"):
        log("%-28s same instants, player clocks (currentTime): p50 %s / p95 %s / max %s ms" % (
            "s9", sc["p50"], sc["p95"], sc["max"]))
    fmt = lambda x: "%s (%s…%s)" % (x["p50"], x["p5"], x["p95"]) if x.get("n") else "—"
    for i, (re_, ee, pr) in enumerate(zip(r.get("room_error", []), r.get("engine_error", []), r.get("presentation", []))):
        log("%-28s page %d, ms p50 (p5…p95): clock − room %s; engine's view − truth %s; frame − clock %s" % (
            "s9", i, fmt(re_), fmt(ee), fmt(pr)))
    return r


def scenario_10(h):
    """join storm: a room's members connect at once"""
    a = h.a
    room, users = ws_members(h)   # users[0] is the owner: the sender
    # a storm of returning members inside the presence grace would send no
    # user_status at all: let the grace of earlier scenarios' connections run out
    if getattr(h, "ws_ran", False):
        time.sleep(a.presence_grace_ms / 1000.0 + 1)
    tf, _ = ws_tokens(h, "s10-ours", users)
    dummy = h.run.tokens_file("s10-baseline", ["bench"])
    res = {"ws_runs": {}, "members": a.members, "rate": a.storm_rate}
    plan = [("ours", "%s/ws/rooms/%d" % (a.ws_url, room), ws_pid(h))]
    if "lws" in h.available and pid_of(a.lws_pid_file):
        plan.append(("lws", a.lws_url + "/", pid_of(a.lws_pid_file)))
    cap = 20 if a.tiny else 120
    # the storm is short (a few hundred ms) and its wall time varies by a
    # quarter from one storm to the next on this machine: each side runs
    # it a.storm_runs times, the sides alternating, and the run with the
    # median time to authenticate stands for its side
    runs = {}
    for rep in range(a.storm_runs):
        if rep:
            # the members' offline after the grace, before they come back
            time.sleep(a.presence_grace_ms / 1000.0 + 1)
        for side, url, pid in plan:
            if side in res.get("unavailable", {}):
                continue
            sm = storm_once(h, res, side, url, pid, tf if side == "ours" else dummy, cap)
            if sm is not None:
                runs.setdefault(side, []).append(sm)
    for side, got in runs.items():
        res["ws_runs"][side + "-storm"] = storm_median(got)
    # once more a side with a.storm_inflight handshakes at a time: the
    # generator's lws keeps its timeouts in one sorted list each insert
    # walks, so 1,000 connects at once cost it O(n^2) (a fifth to a third
    # of its time, more the longer each waits); paced, that is gone and
    # what is left is the servers' own cost per connect
    if a.storm_inflight:
        res["inflight"] = a.storm_inflight
        for side, url, pid in plan:
            if side in res.get("unavailable", {}):
                continue
            time.sleep(a.presence_grace_ms / 1000.0 + 1)
            sm = storm_once(h, res, side, url, pid, tf if side == "ours" else dummy, cap, a.storm_inflight)
            if sm is not None:
                res["ws_runs"][side + "-storm-paced"] = sm
    return res


def storm_once(h, res, side, url, pid, tokens, cap, inflight=0):
    """One storm against one side: its summary (None: lws unavailable,
    said in res).  inflight: handshakes under way at most (0: all at
    once)."""
    a = h.a
    cmd = [a.wsload, "--url", url, "--tokens", tokens, "--conns", a.members,
           "--ramp", a.ws_ramp, "--storm", "--senders", 1, "--type", "play_control", "--rate", a.storm_rate,
           "--window", 0, "--duration", cap, "--quiet-ms", a.ws_quiet_ms, "--drain-ms", a.ws_drain_ms,
           "--heartbeat", 20, "--server-pid", pid, "--json",
           "--ready-on", "snapshot" if side == "ours" else "any", "--storm-inflight", inflight]
    if side == "ours":
        cmd += metrics_args(h)
    label = "s10-" + side + ("-paced" if inflight else "")
    try:
        r = run_json(h, label, [str(x) for x in cmd], fanout_timeout(h, a.members, cap))
    except SetupError as e:
        if side == "ours":
            raise
        res.setdefault("unavailable", {})["lws"] = str(e)
        return None
    sm = load_summary(r)
    if (r.get("errors") or {}).get("forbidden"):
        raise SetupError("ours: play_control refused (forbidden): the first token is not the owner's")
    if not r["storm"].get("done"):
        sm["valid"] = False
        sm["problems"] = "; ".join(filter(None, [sm.get("problems"), "the storm had not settled after %d s" % cap]))
    st = r["storm"]
    log("%-28s %d connect %s: all ready %.0f ms, queues empty %s; play_control p50 %s / p99 %s ms%s" % (
        label, st["conns"], "%d at a time" % inflight if inflight else "at once", st["all_ready_us"] / 1000.0,
        "%.0f ms" % (st["queues_empty_us"] / 1000.0) if st["queues_empty_us"] >= 0 else "not known (no metrics)",
        sm["latency_ms"]["p50"], sm["latency_ms"]["p99"], "" if sm["valid"] else "  INVALID: " + sm["problems"]))
    return sm


def storm_median(got):
    """The run with the median time to authenticate every member, with
    every run's figures (storm_runs) and the median play_control p99
    (storm_pc_p99_ms).  A side with invalid runs is judged on its valid
    ones; with none valid, on all of them (and is invalid)."""
    valid = [r for r in got if r["valid"]] or got
    key = lambda r: r["storm"].get("all_answered_us", -1)  # noqa: E731
    rep = dict(sorted(valid, key=key)[(len(valid) - 1) // 2])
    rep["storm_runs"] = [{"answered_ms": round(key(r) / 1000.0, 1),
                          "established_ms": round(r["storm"].get("all_established_us", -1) / 1000.0, 1),
                          "pc_p99_ms": r["latency_ms"]["p99"], "valid": r["valid"]} for r in got]
    p99s = sorted(r["latency_ms"]["p99"] for r in valid if r["latency_ms"]["p99"] is not None)
    rep["storm_pc_p99_ms"] = p99s[(len(p99s) - 1) // 2] if p99s else None
    return rep


SCENARIOS = {
    1: ("GET /users/me", scenario_1),
    2: ("GET /notifications/?limit=20", scenario_2),
    3: ("room join+leave cycle", scenario_3),
    4: ("login (POST /token)", scenario_4),
    5: ("fan-out: one room, one sender", scenario_5),
    6: ("idle authenticated connections", scenario_6),
    7: ("notification latency: REST invite -> /ws", scenario_7),
    8: ("sync skew: play_control to a room", scenario_8),
    9: ("browser sync: Chromium pages of the web client in one room", scenario_9),
    10: ("join storm: a room's members connect at once", scenario_10),
}

# (scenario, baseline, target ratio ours/baseline); None = reported only
TARGETS = [
    (1, "fastapi", 20.0), (1, "php", 2.0), (1, "nginx", 0.30),
    (2, "fastapi", 10.0), (3, "fastapi", 5.0), (4, "fastapi", None),
]
P99_TARGET_MS = 10.0


# --------------------------------------------------------------------------
# report


def fmt_num(x):
    if x >= 100:
        return "{:,.0f}".format(x)
    return "{:,.1f}".format(x)


def metric(sc, run):
    if sc == 3:
        return run["cycles_per_s"], "cycles/s"
    if sc == 4:
        return run["rps"], "logins/s"
    return run["rps"], "req/s"


def fmt_ratio(r, target):
    if target is not None and target < 1:
        return "%.0f%%" % (100 * r)
    return "%.1f×" % r


def fmt_target(target):
    if target is None:
        return "reported"
    if target < 1:
        return "≥ %.0f%%" % (100 * target)
    return "≥ %g×" % target


def met_str(ok):
    return "yes" if ok else "**no**"


def browser_rows(results):
    s = results["scenarios"].get("9")
    if not s:
        return []
    if s["status"] != "ok":
        return [["9. %s" % s["name"], "—", "—", "—", "—", "could not run: " + s.get("reason", s["status"])]]
    check = s.get("mode") == "self-check"
    who = "%d pages%s" % (s["pages"], ", **self-check: a static page the harness drives, not yiqikan**" if check else "")
    st = s["steady"]
    rows = [["9. browser sync (%s, %d s): steady-state pairwise drift p50 / p95 / max" % (who, s["seconds"]),
             ("%s / %s / %s ms (%s s steady)" % (st["p50"], st["p95"], st["max"], s.get("steady_s")))
             if st["n"] else s.get("note", "no steady state"), "—", "—",
             "p95 ≤ %g ms" % BROWSER_P95_TARGET_MS,
             ("invalid (%s)" % s.get("problems")) if not s["valid"] else
             "—" if check else met_str(st["p95"] is not None and st["p95"] <= BROWSER_P95_TARGET_MS)]]
    sc = s.get("steady_clock") or {}
    if sc.get("n"):
        # a diagnostic, not the goal: what the sync engine steers, before
        # Chromium quantises it to the frames it shows at each vsync
        rows.append(["9. the same instants, the pages' player clocks (currentTime): pairwise p50 / p95 / max",
                     "%s / %s / %s ms" % (sc["p50"], sc["p95"], sc["max"]), "—", "—", "reported", "—"])
    for x in s.get("resync", []):
        if x["kind"] == "start":
            continue
        v = x["resync_ms"]
        rows.append(["9. re-sync after the %s%s" % (x["kind"], " (page %d)" % x["page"] if x.get("page") is not None else ""),
                     ("%d ms" % v if v is not None else "not within the span to the next event") +
                     ("" if x.get("clock_resync_ms") is None or x["kind"] == "pause" else
                      " (player clocks: %d ms)" % x["clock_resync_ms"]), "—", "—",
                     "≤ %g s" % (RESYNC_TARGET_MS / 1000), "—" if check else met_str(v is not None and v <= RESYNC_TARGET_MS)])
    return rows


def ws_rows(results):
    """Rows of the main table for scenarios 5-8."""
    rows = []
    sc_res = results["scenarios"]
    for sc in sorted(int(k) for k in sc_res if int(k) in WS_SCENARIOS):
        s = sc_res[str(sc)]
        name = "%d. %s" % (sc, s["name"])
        if s["status"] != "ok":
            rows.append([name, "—", "—", "—", "—", "could not run: " + s.get("reason", s["status"])])
            continue
        unav = s.get("unavailable", {})
        if sc == 5:
            runs = s.get("ws_runs", {})
            title = "5. fan-out: 1 room of %d, 1 sender, deliveries/s at saturation" % s["members"]
            o = runs.get("ours-sat")
            od = o["deliveries_per_s"]
            ours_txt = "%s/s (p99 %.1f ms)" % (fmt_num(od), o["latency_ms"]["p99"] or 0)
            for base, target in (("socketio", FANOUT_RATIO_TARGET), ("lws", None)):
                b = runs.get(base + "-sat")
                if not b:
                    rows.append([title, ours_txt, WS_LABELS[base] + ": —", "—", fmt_target(target),
                                 "could not run: " + (unav.get(base) or "not run")])
                    continue
                ratio = od / b["deliveries_per_s"] if b["deliveries_per_s"] else float("inf")
                s.setdefault("ratios", {})[base] = round(ratio, 3)
                if not o["valid"] or not b["valid"]:
                    met = "invalid (%s)" % "; ".join("%s: %s" % (WS_LABELS[n], r["problems"])
                                                     for n, r in (("ours", o), (base, b)) if not r["valid"])
                elif target is None:
                    met = "—"
                else:
                    met = met_str(ratio >= target)
                rows.append([title, ours_txt, "%s: %s/s (p99 %.1f ms)" % (
                    WS_LABELS[base], fmt_num(b["deliveries_per_s"]), b["latency_ms"]["p99"] or 0),
                    fmt_ratio(ratio, 0.5 if target is None else target), fmt_target(target), met])
            rows.append(["5. deliveries/s from the one lws service thread", "%s/s" % fmt_num(od), "—", "—",
                         "≥ %s/s" % fmt_num(FANOUT_ABS_TARGET),
                         met_str(od >= FANOUT_ABS_TARGET) if o["valid"] else "invalid (%s)" % o["problems"]])
            oh = runs.get("ours-half")
            for base in ("socketio", "lws"):
                bh = runs.get(base + "-half")
                if not oh:
                    break
                rows.append(["5. latency at half of each side's saturation, p50 / p99",
                             "%.2f / %.2f ms (%s msg/s)" % (oh["latency_ms"]["p50"] or 0, oh["latency_ms"]["p99"] or 0,
                                                            fmt_num(oh["rate"])),
                             "%s: %s" % (WS_LABELS[base], "%.2f / %.2f ms (%s msg/s)" % (
                                 bh["latency_ms"]["p50"] or 0, bh["latency_ms"]["p99"] or 0, fmt_num(bh["rate"]))
                                 if bh else "—"),
                             "—", "reported",
                             "—" if (oh["valid"] and (not bh or bh["valid"])) else "invalid (%s)" % "; ".join(
                                 r["problems"] for r in (oh, bh) if r and not r["valid"])])
        elif sc == 6:
            title = "6. idle authenticated connections on /ws, heart_beat every %d s, %d s" % (
                s["heartbeat_s"], s["seconds"])
            ok = s["conns_ok"] >= s["target_conns"] and s["conns_dropped"] == 0 and s["conns_failed"] == 0 \
                and s["seconds"] >= IDLE_SECONDS_TARGET
            why = []
            if s.get("limited"):
                why.append(s["limited"])
            if s["seconds"] < IDLE_SECONDS_TARGET:
                why.append("held %d s, not %d" % (s["seconds"], IDLE_SECONDS_TARGET))
            rows.append([title, "%s of %s authenticated, %d failed, %d dropped; daemon CPU while idle %s" % (
                "{:,}".format(s["conns_ok"]), "{:,}".format(s["conns"]), s["conns_failed"], s["conns_dropped"],
                "%.0f%%" % s["server_cpu_pct"] if (s.get("server_cpu_pct") or -1) >= 0 else "?"),
                "—", "—", "%s, none dropped, %d s" % ("{:,}".format(IDLE_CONNS_TARGET), IDLE_SECONDS_TARGET),
                met_str(ok) + (" (%s)" % "; ".join(why) if why else "")])
            pc = s.get("rss_per_conn_bytes")
            rows.append(["6. daemon RSS per connection",
                         "%.2f KiB (RSS %s → %s MiB)" % (pc / 1024.0, fmt_num(s["rss_before_kb"] / 1024.0),
                                                        fmt_num(s["rss_all_open_kb"] / 1024.0)) if pc is not None else "?",
                         "—", "—", "≤ %g KiB" % (RSS_PER_CONN_TARGET / 1024), met_str(pc is not None and pc <= RSS_PER_CONN_TARGET)])
        elif sc == 7:
            lat = s["latency_ms"]
            title = "7. REST invite → invite_notification on /ws (%d samples)" % s["samples"]
            inv = "" if s["valid"] else "invalid (%d of %d lost); " % (s["lost"], s["samples"])
            rows.append([title + " p50", "%.2f ms" % lat["p50"], "—", "—", "≤ %g ms" % NOTIFY_P50_TARGET_MS,
                         inv + met_str(lat["p50"] <= NOTIFY_P50_TARGET_MS)])
            rows.append([title + " p99", "%.2f ms (max %.1f)" % (lat["p99"], lat["max"]), "—", "—",
                         "≤ %g ms" % NOTIFY_P99_TARGET_MS, inv + met_str(lat["p99"] <= NOTIFY_P99_TARGET_MS)])
        elif sc == 8:
            o = s["ws_runs"]["ours"]
            c = s["ws_runs"].get("lws")
            title = "8. play_control to %d members: arrival spread p99" % s["members"]
            base = ("lws broadcast: %.2f ms (p50 %.2f, max %.2f; keyed by the sender's sequence)" % (
                c["skew_ms"]["p99"], c["skew_ms"]["p50"], c["skew_ms"]["max"])) if c else \
                "lws broadcast: — (%s)" % (s.get("ceiling_skew") or unav.get("lws") or "not run")
            ratio = "%.1f×" % (o["skew_ms"]["p99"] / c["skew_ms"]["p99"]) if c and c["skew_ms"]["p99"] else "—"
            rows.append([title, "%.2f ms (p50 %.2f, max %.2f; %d broadcasts)" % (
                o["skew_ms"]["p99"], o["skew_ms"]["p50"], o["skew_ms"]["max"], o["skew_broadcasts"]),
                base, ratio, "≤ %g ms" % SKEW_P99_TARGET_MS,
                (met_str(o["skew_ms"]["p99"] <= SKEW_P99_TARGET_MS)) if o["valid"] else "invalid (%s)" % o["problems"]])
        elif sc == 10:
            o = s["ws_runs"].get("ours-storm")
            c = s["ws_runs"].get("lws-storm")

            def storm_txt(r):
                st = r["storm"]
                return "all %d ready in %.0f ms (ready p50 %.1f / p99 %.1f ms)%s" % (
                    st["conns"], st["all_ready_us"] / 1000.0, r["auth_ms"]["p50"] or 0, r["auth_ms"]["p99"] or 0,
                    "; queues empty after %.0f ms" % (st["queues_empty_us"] / 1000.0)
                    if st.get("queues_empty_us", -1) >= 0 else "")

            def answered(r):
                return r["storm"].get("all_answered_us", -1) if r else -1

            def answered_row(title, o, c, target, met):
                """ours' and lws' time until all are authenticated, and the ratio"""
                return [title, "%.0f ms" % (answered(o) / 1000.0) if answered(o) >= 0 else "—",
                        "lws broadcast: %s" % ("%.0f ms" % (answered(c) / 1000.0) if answered(c) >= 0 else "—"),
                        "%.1f×" % (answered(o) / answered(c)) if answered(c) > 0 and answered(o) >= 0 else "—",
                        target, met]
            if o:
                rows.append(answered_row("10. join storm of %d: time until every member is authenticated "
                                         "(first byte of the server's first message)" % s["members"],
                                         o, c, "≤ 1.5× lws", "see goals"))
            def upgraded(r):
                return r["storm"].get("all_established_us", -1) if r else -1
            if o and upgraded(o) >= 0:
                # the handshakes alone: the part of the storm both servers do alike
                rows.append(["10. join storm of %d: time until every WebSocket upgrade is done" % s["members"],
                             "%.0f ms" % (upgraded(o) / 1000.0),
                             "lws broadcast: %s" % ("%.0f ms" % (upgraded(c) / 1000.0) if upgraded(c) >= 0 else "—"),
                             "%.1f×" % (upgraded(o) / upgraded(c)) if upgraded(c) > 0 else "—", "reported", "—"])
            if o and (o.get("rss_kb") or {}).get("peak"):
                rk = o["rss_kb"]
                rows.append(["10. daemon RSS during the storm: before → peak → end",
                             "%s → %s → %s MiB" % tuple(fmt_num((rk.get(k) or 0) / 1024.0)
                                                     for k in ("before", "peak", "end")),
                             "lws broadcast: %s" % ("%s MiB peak" % fmt_num(c["rss_kb"]["peak"] / 1024.0)
                                                    if c and (c.get("rss_kb") or {}).get("peak") else "—"),
                             "—", "reported", "—"])
            rows.append(["10. join storm of %d: time until every member has its snapshot" % s["members"],
                         storm_txt(o) if o else "—",
                         "lws broadcast: " + (storm_txt(c) if c else "— (%s)" % unav.get("lws", "not run")),
                         "%.1f×" % (o["storm"]["all_ready_us"] / c["storm"]["all_ready_us"])
                         if o and c and c["storm"]["all_ready_us"] > 0 else "—", "reported", "—"])
            po, pc = s["ws_runs"].get("ours-storm-paced"), s["ws_runs"].get("lws-storm-paced")
            if po:
                rows.append(answered_row("10. the same storm paced, %d handshakes at a time (no O(n²) in the "
                                         "generator's lws): time until every member is authenticated"
                                         % s.get("inflight", 0), po, pc, "reported", "—"))

            def each(r, key, fmt):
                return ", ".join(fmt % (x[key] or 0) for x in r["storm_runs"]) + " ms" if r else "—"
            if o and len(o.get("storm_runs", [])) > 1:
                for title, key, fmt in (("join storm: every run's time until all are authenticated", "answered_ms",
                                         "%.0f"),
                                        ("play_control p99 during the storm, every run", "pc_p99_ms", "%.1f")):
                    rows.append(["10. %s (the median stands)" % title, each(o, key, fmt),
                                 "lws broadcast: " + each(c, key, fmt), "—", "reported", "—"])
            if o:
                rows.append(["10. play_control during the storm, p50 / p99 (%g/s)" % s["rate"],
                             "%.2f / %.2f ms" % (o["latency_ms"]["p50"] or 0, o["latency_ms"]["p99"] or 0),
                             "lws broadcast: %s" % ("%.2f / %.2f ms" % (c["latency_ms"]["p50"] or 0,
                                                                    c["latency_ms"]["p99"] or 0) if c else "—"),
                             "—", "p99 ≤ 100 ms", "see goals"])
    return rows


# issue 10's goals: (key, text, target)
GOALS = [
    ("sat", "5. deliveries/s at saturation vs Socket.IO", "≥ 1.15×"),
    ("cpu", "5. server CPU per delivery at saturation vs lws no-logic", "≤ 1.15×"),
    ("half", "5. p99 at half of saturation vs lws no-logic", "≤ 2×"),
    ("idle", "5. idle CPU with the room's connections vs lws no-logic", "≤ 1.5×"),
    ("idle20k", "6. daemon CPU with the idle connections", "< 10% of a core"),
    ("rss", "6. RSS per idle connection (3.50 KiB before; 3.45–3.59 over runs)", "≤ 3.6 KiB"),
    ("notify", "7. invite → push p99", "≤ 50 ms"),
    ("spread", "8. play_control arrival spread p99 vs lws no-logic", "≤ 1.5×"),
    ("storm", "10. join storm: all members authenticated vs lws no-logic", "≤ 1.5×"),
    ("stormpc", "10. play_control p99 during the storm", "≤ 100 ms"),
]


def goal_rows(results):
    """One row per goal of issue 10 that this run could judge: figures,
    ratio, met / not met.  A goal whose scenario did not run is left out;
    one whose side is missing or invalid says so."""
    sc = results["scenarios"]

    def run(k, name):
        return ((sc.get(k) or {}).get("ws_runs") or {}).get(name)

    def ratio_row(key, a, b, fa, fb, unit, target, le):
        if not a or not b:
            return None
        va, vb = fa(a), fb(b)
        if va is None or vb is None:
            return [key, "—", "—", "—", "not measured"]
        r = va / vb if vb else float("inf")
        bad = [x["problems"] for x in (a, b) if not x["valid"]]
        ok = (r <= target) if le else (r >= target)
        return [key, unit % va, unit % vb, "%.2f×" % r, ("invalid (%s)" % "; ".join(bad)) if bad else met_str(ok)]

    rows = []
    texts = {g[0]: (g[1], g[2]) for g in GOALS}
    cpu = lambda r: r.get("server_cpu_us_per_delivery")  # noqa: E731
    rows.append(("sat", ratio_row("sat", run("5", "ours-sat"), run("5", "socketio-sat"),
                                  lambda r: r["deliveries_per_s"], lambda r: r["deliveries_per_s"], "%.0f/s", 1.15, False)))
    rows.append(("cpu", ratio_row("cpu", run("5", "ours-sat"), run("5", "lws-sat"), cpu, cpu, "%.2f µs", 1.15, True)))
    rows.append(("half", ratio_row("half", run("5", "ours-half"), run("5", "lws-half"),
                                   lambda r: r["latency_ms"]["p99"], lambda r: r["latency_ms"]["p99"], "%.2f ms", 2.0, True)))
    def idle_cpu(r, floor=0.0):
        c = r.get("server_cpu_pct")
        return None if c is None or c < 0 else max(c, floor)  # 0.1%: one clock tick in 10 s
    rows.append(("idle", ratio_row("idle", run("5", "ours-idle"), run("5", "lws-idle"),
                                   idle_cpu, lambda r: idle_cpu(r, 0.1), "%.1f%%", 1.5, True)))
    s6 = sc.get("6")
    if s6 and s6.get("status") == "ok":
        c = s6.get("server_cpu_pct")
        rows.append(("idle20k", ["idle20k", "%s (%s connections)" % (
            "%.1f%%" % c if c is not None and c >= 0 else "?", "{:,}".format(s6["conns_ok"])), "—", "—",
            met_str(c is not None and 0 <= c < 10.0 and s6.get("valid", False))]))
        pc = s6.get("rss_per_conn_bytes")
        rows.append(("rss", ["rss", "%.2f KiB" % (pc / 1024.0) if pc is not None else "?", "—", "—",
                             met_str(pc is not None and pc <= 3.6 * 1024)]))
    s7 = sc.get("7")
    if s7 and s7.get("status") == "ok":
        p = s7["latency_ms"]["p99"]
        rows.append(("notify", ["notify", "%.2f ms" % p, "—", "—",
                                met_str(p <= NOTIFY_P99_TARGET_MS) if s7["valid"] else "invalid"]))
    sk = lambda r: r["skew_ms"]["p99"] if r.get("skew_ms") else None  # noqa: E731
    rows.append(("spread", ratio_row("spread", run("8", "ours"), run("8", "lws"), sk, sk, "%.2f ms", 1.5, True)))
    # authenticated: the first byte of each connection's first message (ours:
    # the snapshot, whose member list then takes as long as its bytes take)
    ready = lambda r: (r["storm"].get("all_answered_us", -1) / 1000.0  # noqa: E731
                       if r["storm"].get("all_answered_us", -1) >= 0 else None)
    rows.append(("storm", ratio_row("storm", run("10", "ours-storm"), run("10", "lws-storm"), ready, ready,
                                    "%.0f ms", 1.5, True)))
    o = run("10", "ours-storm")
    if o:
        p = o.get("storm_pc_p99_ms", o["latency_ms"]["p99"])  # the median of the runs
        rows.append(("stormpc", ["stormpc", "%.2f ms" % p if p is not None else "—", "—", "—",
                                 met_str(p is not None and p <= 100.0) if o["valid"] else "invalid (%s)" % o["problems"]]))
    out = []
    for key, row in rows:
        if row:
            t, target = texts[key]
            out.append([t] + row[1:4] + [target, row[4]])
    results["goals"] = [{"goal": r[0], "ours": r[1], "baseline": r[2], "ratio": r[3], "target": r[4], "met": r[5]}
                        for r in out]
    if not out:
        return []
    return ["", "Goals of issue 10 (one run; ratios within it):", "",
            "| goal | ours | baseline | ratio | target | met? |", "|---|---|---|---|---|---|"] + [
        "| " + " | ".join(r) + " |" for r in out]


def ws_run_table(results):
    out = []
    for k in sorted(results["scenarios"], key=int):
        s = results["scenarios"][k]
        for name, r in s.get("ws_runs", {}).items():
            side, _, kind = name.partition("-")
            what = {"sat": "saturation (window %s)" % r.get("window"), "half": "%s msg/s" % fmt_num(r.get("rate") or 0),
                    "": "%s msg/s" % fmt_num(r.get("rate") or 0), "idle": "idle (heart_beats only)",
                    "storm": "storm, play_control %s/s" % fmt_num(r.get("rate") or 0),
                    "storm-paced": "storm, %s handshakes at a time, play_control %s/s" % (
                        s.get("inflight"), fmt_num(r.get("rate") or 0))}[kind]
            extra = ""
            if "skew_ms" in r:
                extra = "; skew p50 %.2f / p99 %.2f ms" % (r["skew_ms"]["p50"] or 0, r["skew_ms"]["p99"] or 0)
            mt = r.get("metrics") or {}
            if mt.get("available"):
                qs = "empty" if mt.get("queues_emptied") else "**not empty** (%s)" % mt.get("queue_at_start")
                qs += " after %s ms" % mt.get("wait_ms")
            elif mt or side == "ours":
                qs = "not read (no metrics)"
            else:
                qs = "— (no metrics)"
            cpd = r.get("server_cpu_us_per_delivery")
            out.append("| %s | %s | %s | %d / %d / %d | %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s |" % (
                k, WS_LABELS[side], what + extra, r["conns_ok"], r["conns_failed"], r["conns_dropped"],
                "{:,}".format(int(r.get("sent") or 0)), fmt_num(r.get("deliveries_per_s") or 0), r["latency_ms"]["p50"] or 0,
                r["latency_ms"]["p99"] or 0, "%.0f%%%s" % (r["client_cpu_pct"], " (client-bound)"
                                                           if r["client_cpu_pct"] >= CLIENT_BOUND_PCT else ""),
                "%.0f%%" % r["server_cpu_pct"] if r.get("server_cpu_pct") not in (None, -1) else "?",
                "%.2f" % cpd if cpd is not None else "—", qs,
                "yes" if r["valid"] else "**no** (%s)" % r["problems"]))
    if not out:
        return []
    return ["", "WebSocket runs (connections ok / failed / dropped; latency is send → receive at every receiver; "
            "CPU over the measured window, 100%% = one core; a generator at ≥ %g%% is marked client-bound: "
            "its own queueing is then part of the figures):" % CLIENT_BOUND_PCT, "",
            "| scenario | side | run | conns | sent | deliveries/s | p50 ms | p99 ms | client CPU | server CPU "
            "| server CPU µs/delivery | send queues at window start | valid |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"] + out


def build_tables(results):
    lines = []
    rows = []
    sc_res = results["scenarios"]
    for sc, base, target in TARGETS:
        s = sc_res.get(str(sc))
        if not s or s["status"] == "skipped":
            continue
        title = "%d. %s" % (sc, s["name"])
        if sc == 1:
            title += " (%d conn.)" % results["settings"]["connections"]
        if sc == 2:
            title = "2. GET /notifications/?limit=20 (%d notifications)" % s.get("notifications", 0)
        if sc == 4:
            title = "4. login, argon2id %s" % results["hash_params"]
        ours = s.get("runs", {}).get("ours")
        other = s.get("runs", {}).get(base)
        if s["status"] != "ok" and (not ours or not other):
            rows.append([title, "—", SIDE_LABELS[base], "—", fmt_target(target),
                         "could not run: " + s.get("reason", "")])
            continue
        if not ours or not other:
            why = s.get("unavailable", {}).get(base) or s.get("unavailable", {}).get("ours") or (
                "no baselines (--ours-only)" if results["settings"].get("ours_only") else "not run")
            rows.append([title, "%s %s" % (fmt_num(metric(sc, ours)[0]), metric(sc, ours)[1]) if ours else "—",
                         SIDE_LABELS[base] + ": —",
                         "—", fmt_target(target), "could not run: " + why])
            continue
        mo, unit = metric(sc, ours)
        mb, _ = metric(sc, other)
        ratio = mo / mb if mb else float("inf")
        s.setdefault("ratios", {})[base] = round(ratio, 3)
        if not ours["valid"] or not other["valid"]:
            met = "invalid (%s)" % ", ".join(
                "%s %.1f%% failed" % (SIDE_LABELS[n], r["failed_pct"])
                for n, r in (("ours", ours), (base, other)) if not r["valid"])
        elif target is None:
            met = "—"
        else:
            met = "yes" if ratio >= target else "**no**"
        rows.append([title, "%s %s (p99 %.1f ms)" % (fmt_num(mo), unit, ours["latency_ms"]["p99"]),
                     "%s: %s %s (p99 %.1f ms)" % (SIDE_LABELS[base], fmt_num(mb), unit, other["latency_ms"]["p99"]),
                     fmt_ratio(ratio, target), fmt_target(target), met])
        if sc == 1 and base == "nginx":
            p99 = ours["latency_ms"]["p99"]
            met = "yes" if p99 <= P99_TARGET_MS else "**no**"
            if not ours["valid"]:
                met = "invalid"
            rows.append(["1. GET /users/me p99", "%.2f ms" % p99, "—", "—", "≤ %g ms" % P99_TARGET_MS, met])
    for sc in sorted(int(k) for k in sc_res):
        s = sc_res[str(sc)]
        if sc not in WS_SCENARIOS and s["status"] != "ok" and not any(t[0] == sc for t in TARGETS):
            rows.append(["%d. %s" % (sc, s["name"]), "—", "—", "—", "—", s.get("reason", s["status"])])
    rows += browser_rows(results)
    rows += ws_rows(results)
    lines.append("| scenario | ours | baseline | ratio | target | met? |")
    lines.append("|---|---|---|---|---|---|")
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return lines


def markdown(results):
    st = results["settings"]
    m = results["machine"]
    v = results["versions"]
    out = ["# yiqikan benchmark %s" % results["date"], ""]
    out.append("%d cores (%s), %s; wrk %s with %d threads and %d connections, %d s per run after a %d s warm-up%s."
               % (m["nproc"], m["cpu"], m["kernel"], v.get("wrk", "?"), st["threads"], st["connections"],
                  st["duration"], st["warmup"], " (**--tiny**: a smoke run, not a measurement)" if st["tiny"] else ""))
    out.append("")
    out.append("Sides: **ours** nginx (%s worker) → yiqikan-api (%s workers, release build) at commit %s; "
               "**FastAPI** %s + uvicorn %s (%s workers) + SQLAlchemy %s + PyMySQL, behind nginx; "
               "**PHP-FPM** %s (pm=static, %s children, PDO persistent); **nginx** `return 200` — "
               "one MariaDB %s for all; nginx reaches every upstream over %s, the apps reach MariaDB over %s. "
               "See tests/bench/README.md." % (
                   st["nginx_workers"], st["api_workers"], v.get("yiqikan", "?"), v.get("fastapi", "?"),
                   v.get("uvicorn", "?"), st["uvicorn_workers"], v.get("sqlalchemy", "?"), v.get("php", "?"),
                   st["php_children"], v.get("mariadb", "?"),
                   {"unix": "unix sockets", "tcp": "TCP"}.get(st.get("upstream_transport"), "?"),
                   {"unix": "its unix socket", "tcp": "TCP"}.get(st.get("db_transport"), "?")))
    if any(int(k) in WS_SCENARIOS for k in results["scenarios"]):
        out.append("")
        out.append("WebSocket: yq-wsload (one lws client thread, libev) straight to each server's port; "
                   "**ours** yiqikan-ws (one lws service thread + its database threads, `ws.rate` limits off), "
                   "rooms of %d members, keep_chat_history off; **Socket.IO** %s on Node %s (one process, "
                   "in-memory adapter, bufferutil + utf-8-validate) driven by socket.io-client %s in one Node "
                   "process; **lws broadcast** our no-logic libwebsockets %s broadcast server "
                   "(tests/bench/baseline/lws-broadcast.c). Scenario 6: %s idle connections for %d s; "
                   "scenario 7: %d invitations through our nginx; scenario 8: play_control at %g/s." % (
                       st.get("members", 0), v.get("socket.io", "?"), v.get("node", "?"),
                       v.get("socket.io-client", "?"), v.get("libwebsockets", "?"),
                       "{:,}".format(st.get("idle_conns", 0)), st.get("idle_seconds", 0), st.get("samples", 0),
                       st.get("skew_rate", 0)))
        out.append("")
        if st.get("ws_metrics"):
            out.append("Every window on our daemon opens only once its send queues are empty "
                       "(`yiqikan_ws_send_queue_messages` = 0 on its metrics listener, polled every 20 ms; "
                       "inside a window once a second, every 20 ms in its last 100 ms, "
                       "at most %d s); the table says what each run found. Scenario 10: %d members connect at "
                       "once while the owner sends play_control at %g/s, %d storms a side, the sides alternating "
                       "(the run with the median time to authenticate stands for its side; the play_control "
                       "goal is the median p99); server CPU µs per delivery = the "
                       "server's utime + stime over the window ÷ broadcasts received in it." % (
                           st.get("queue_wait_ms", 30000) // 1000 if st.get("queue_wait_ms") else 30,
                           st.get("members", 0), st.get("storm_rate", 0), st.get("storm_runs", 1)))
        else:
            out.append("**No metrics from our daemon** (%s): windows open after the quiet time alone, as before "
                       "the metrics listener, so a window may open on queued join traffic. Scenario 10: %d members "
                       "connect at once while the owner sends play_control at %g/s; server CPU µs per delivery = "
                       "the server's utime + stime over the window ÷ broadcasts received in it." % (
                           st.get("ws_metrics_unavailable") or "no listener configured", st.get("members", 0),
                           st.get("storm_rate", 0)))
    out.append("")
    out.extend(build_tables(results))
    rest_runs = [k for k in results["scenarios"] if results["scenarios"][k].get("runs")]
    if rest_runs:
        out.append("")
        out.append("Every run:")
        out.append("")
        out.append("| scenario | side | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | valid |")
        out.append("|---|---|---|---|---|---|---|---|---|")
    for k in sorted(results["scenarios"], key=int):
        s = results["scenarios"][k]
        for name, r in s.get("runs", {}).items():
            se = sum(r["socket_errors"].values())
            extra = " (%s cycles/s)" % fmt_num(r["cycles_per_s"]) if "cycles_per_s" in r else ""
            out.append("| %s. %s | %s | %s%s | %.2f | %.2f | %.2f | %d | %d | %s |" % (
                k, s["name"], SIDE_LABELS[name], fmt_num(r["rps"]), extra, r["latency_ms"]["p50"],
                r["latency_ms"]["p90"], r["latency_ms"]["p99"], r["non2xx"], se,
                "yes" if r["valid"] else "**no** (%.1f%% failed%s)" % (
                    r["failed_pct"], ", probe: " + r["probe"] if r.get("probe") else "")))
    out.extend(goal_rows(results))
    out.extend(ws_run_table(results))
    la = ["%s: %s → %s" % (k, s.get("loadavg_start", "?"), s.get("loadavg_end", "?"))
          for k, s in sorted(results["scenarios"].items(), key=lambda x: int(x[0]))]
    if la:
        out.append("")
        out.append("Load average (1/5/15 min) at the start → end of each scenario: " + "; ".join(la) + ".")
    s6 = results["scenarios"].get("6")
    if s6 and s6.get("status") == "ok":
        out.append("")
        out.append("Scenario 6: %s connections from %d yq-wsload process(es) bound round-robin to %s "
                   "(the daemon's open-file limit: %d, hard %d; the generator's: %d), ramp %.0f s, idle %.0f s; "
                   "%s heart_beats sent, %s answered; daemon RSS %s kB before, %s kB with every connection "
                   "open (at the end of the idle period), peak %s kB; descriptors %d → %d.%s" % (
                       "{:,}".format(s6["conns"]), s6["processes"], s6["sources"], s6["daemon_nofile"][0],
                       s6["daemon_nofile"][1], s6["client_nofile"], s6["ramp_s"], s6["idle_s"],
                       "{:,}".format(s6["heartbeats"]), "{:,}".format(s6["heartbeat_replies"]),
                       "{:,}".format(s6["rss_before_kb"]), "{:,}".format(s6["rss_all_open_kb"]),
                       "{:,}".format(s6["rss_max_kb"]), s6["fds_before"], s6["fds_max"],
                       " **Limited:** " + s6["limited"] + "." if s6.get("limited") else ""))
    s4 = results["scenarios"].get("4")
    if s4 and s4.get("single"):
        out.append("")
        parts = []
        for name, r in s4["single"].items():
            cost = r["latency_ms"]["p50"]
            parts.append("%s %.1f ms (so at most ~%s logins/s on %d cores)" % (
                SIDE_LABELS[name], cost, fmt_num(m["nproc"] * 1000.0 / cost) if cost else "?", m["nproc"]))
        out.append("Login cost (scenario 4): one login at 1 connection takes, at the median, " + "; ".join(parts)
                   + ". Both hash with argon2id %s: yiqikan with libsodium, FastAPI with argon2-cffi "
                   "through passlib; the scenario is bounded by the hash by design." % results["hash_params"])
    if st["tiny"]:
        out.append("")
        out.append("This was a `--tiny` run (harness check): the figures mean nothing.")
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------


def versions(a, db):
    v = {}

    def cmd(c, pat):
        try:
            p = subprocess.run(c, capture_output=True, text=True, timeout=20)
            m = re.search(pat, p.stdout + p.stderr)
            return m.group(1) if m else None
        except (OSError, subprocess.SubprocessError):
            return None
    v["wrk"] = cmd(["wrk", "-v"], r"wrk (\S+)")
    v["nginx"] = cmd(["nginx", "-v"], r"nginx/(\S+)")
    v["php"] = cmd(["php", "-v"], r"PHP (\S+)")
    v["python"] = platform.python_version()
    for mod in ("fastapi", "uvicorn", "sqlalchemy", "pymysql", "jose", "passlib", "argon2"):
        try:
            v[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing baseline is reported elsewhere
            v[mod] = None
    try:
        v["mariadb"] = db.scalar("mysql", "SELECT VERSION()")
    except SetupError:
        v["mariadb"] = None
    v["node"] = cmd(["node", "--version"], r"v(\S+)")
    v["libwebsockets"] = cmd(["pkg-config", "--modversion", "libwebsockets"], r"([0-9][0-9.]*[0-9])")
    for mod in ("socket.io", "socket.io-client"):
        try:
            with open(os.path.join(a.socketio_dir, "node_modules", mod, "package.json")) as f:
                v[mod] = json.load(f).get("version")
        except (OSError, ValueError):
            v[mod] = None
    try:
        v["websockets"] = __import__("websockets").__version__
    except Exception:  # noqa: BLE001 - scenario 7 says why
        v["websockets"] = None
    g = cmd(["git", "-C", a.root, "describe", "--always", "--dirty"], r"(\S+)")
    v["yiqikan"] = g
    return v


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": "Linux " + platform.release()}


class Harness:
    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--state", required=True, help="$YQ_STATE/bench")
    p.add_argument("--ours-url", required=True)
    p.add_argument("--bench-url", required=True)
    p.add_argument("--db-socket", required=True)
    p.add_argument("--ours-db", required=True)
    p.add_argument("--bench-db", required=True)
    p.add_argument("--sides", required=True, help="JSON: {side: null | reason it is unavailable}")
    p.add_argument("--settings", required=True, help="JSON: the stack's settings, for the report")
    p.add_argument("--hash-params", default="m=19456 KiB, t=2, p=1")
    p.add_argument("--ws-daemon", default="", help="path of yiqikan-ws, if it was built")
    p.add_argument("--ws-url", default="", help="ws://127.0.0.1:PORT of our ws daemon (its own port)")
    p.add_argument("--ws-pid-file", default="")
    p.add_argument("--ws-unavailable", default="", help="why the WebSocket scenarios cannot run")
    p.add_argument("--wsload", default="", help="path of yq-wsload")
    p.add_argument("--lws-url", default="")
    p.add_argument("--lws-pid-file", default="")
    p.add_argument("--socketio-url", default="")
    p.add_argument("--socketio-pid-file", default="")
    p.add_argument("--socketio-dir", default="")
    p.add_argument("--members", type=int, default=1000, help="room size of scenarios 5 and 8")
    p.add_argument("--ws-ramp", type=float, default=500, help="connections opened per second")
    p.add_argument("--ws-quiet-ms", type=int, default=1000)
    p.add_argument("--ws-drain-ms", type=int, default=2000)
    p.add_argument("--idle-conns", type=int, default=IDLE_CONNS_TARGET)
    p.add_argument("--idle-seconds", type=int, default=IDLE_SECONDS_TARGET)
    p.add_argument("--idle-heartbeat", type=int, default=20)
    p.add_argument("--idle-ramp", type=float, default=500)
    p.add_argument("--samples", type=int, default=1000, help="scenario 7's invitations")
    p.add_argument("--skew-rate", type=float, default=10, help="scenario 8's play_control a second")
    p.add_argument("--storm-rate", type=float, default=10, help="scenario 10's play_control a second")
    runs_env = os.environ.get("YQ_BENCH_STORM_RUNS") or "3"
    if not runs_env.isdigit():
        sys.exit("bench: YQ_BENCH_STORM_RUNS must be a whole number, not %r" % runs_env)
    p.add_argument("--storm-runs", type=int, default=int(runs_env),
                   help="scenario 10's storms a side (the median stands; default $YQ_BENCH_STORM_RUNS or 3)")
    p.add_argument("--storm-inflight", type=int, default=64,
                   help="scenario 10's paced storm: handshakes under way at most (0: no paced storm)")
    p.add_argument("--ws-metrics", default="", help="HOST:PORT of the daemon's metrics listener, if it has one")
    p.add_argument("--ws-metrics-unavailable", default="", help="why there are no metrics")
    p.add_argument("--queue-wait-ms", type=int, default=30000,
                   help="how long a window waits for the daemon's send queues to empty")
    p.add_argument("--presence-grace-ms", type=int, default=5000, help="the daemon's ws.presence_grace_ms")
    p.add_argument("--media-dir", default="", help="where nginx serves /media/ from (the stack's www/media)")
    p.add_argument("--browser-unavailable", default="", help="why scenario 9 cannot run")
    p.add_argument("--browser-self-check", action="store_true")
    p.add_argument("--browser-pages", type=int, default=5)
    p.add_argument("--browser-seconds", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--notifications", type=int, default=200)
    p.add_argument("--room-users", type=int, default=0)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--ours-only", action="store_true", help="no baselines were started: none is missed")
    p.add_argument("--results", required=True)
    p.add_argument("scenarios", nargs="*", type=int)
    a = p.parse_args()
    if not a.room_users:
        a.room_users = 2 * a.connections
    if a.room_users > 999:
        sys.exit("bench: --room-users must stay below the room's max_members (1000)")
    if not 2 <= a.members <= 1000:
        sys.exit("bench: --members must be 2 to 1000 (a room's max_members)")
    if a.storm_runs < 1:
        sys.exit("bench: --storm-runs must be at least 1")
    if a.storm_inflight < 0:
        sys.exit("bench: --storm-inflight must be 0 or more")
    if a.tiny:
        a.storm_runs = min(a.storm_runs, 2)  # the median code still runs
    wanted = a.scenarios or [1, 2, 3, 4, 5, 6, 7, 8, 10]
    # scenario 6 measures the daemon's memory per connection: it goes first
    # of the WebSocket ones, before other runs leave freed memory in the
    # daemon's allocator for it to reuse
    if 6 in wanted:
        wanted = [s for s in wanted if s < 5] + [6] + [s for s in wanted if s >= 5 and s != 6]

    db = DB(a.db_socket)
    sides = json.loads(a.sides)
    h = Harness()
    h.a = a
    h.run = Runner(a)
    h.available = {k for k, why in sides.items() if not why}
    tag = "bq%s" % secrets.token_hex(3)
    h.api = {}
    if "ours" in h.available:
        h.api["ours"] = ApiSide("ours", a.ours_url, "/api", db, a.ours_db, tag)
    if "fastapi" in h.available:
        h.api["fastapi"] = ApiSide("fastapi", a.bench_url, "/fastapi", db, a.bench_db, tag)

    now = datetime.now(timezone.utc)
    results = {
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "versions": versions(a, db),
        "settings": dict(json.loads(a.settings), threads=a.threads, connections=a.connections,
                         duration=a.duration, warmup=a.warmup, tiny=a.tiny, notifications=a.notifications,
                         room_users=a.room_users, members=a.members, ws_ramp=a.ws_ramp,
                         idle_conns=a.idle_conns, idle_seconds=a.idle_seconds, idle_heartbeat=a.idle_heartbeat,
                         samples=a.samples, skew_rate=a.skew_rate, storm_rate=a.storm_rate,
                         storm_runs=a.storm_runs, queue_wait_ms=a.queue_wait_ms,
                         ws_metrics=a.ws_metrics or None, ours_only=a.ours_only,
                         ws_metrics_unavailable=a.ws_metrics_unavailable or None),
        "hash_params": a.hash_params,
        "sides_unavailable": {k: v for k, v in sides.items() if v},
        "scenarios": {},
    }
    could_not_run = []
    for sc in wanted:
        if sc not in SCENARIOS:
            could_not_run.append("scenario %d: no such scenario" % sc)
            results["scenarios"][str(sc)] = {"name": "?", "status": "failed", "reason": "no such scenario"}
            continue
        name, fn = SCENARIOS[sc]
        log("scenario %d: %s (loadavg %s)" % (sc, name, loadavg()))
        entry = {"name": name, "status": "ok", "loadavg_start": loadavg()}
        if "ours" not in h.available:
            entry.update(status="failed", reason="ours: " + sides["ours"])
        elif sc in WS_SCENARIOS and not (a.ws_daemon and a.ws_url and a.wsload):
            entry.update(status="failed", reason=a.ws_unavailable or "the ws daemon or yq-wsload is missing")
        else:
            try:
                entry.update(fn(h))
            except SetupError as e:
                entry.update(status="failed", reason=str(e))
            except subprocess.TimeoutExpired as e:
                entry.update(status="failed", reason="timed out: %s" % e)
            if sc in WS_SCENARIOS:
                h.ws_ran = True
        entry["loadavg_end"] = loadavg()
        # which baseline this scenario needs but could not have
        need = {t[1] for t in TARGETS if t[0] == sc} | set(WS_NEEDS.get(sc, ()))
        if a.ours_only:
            need = set()
        miss = {n: sides[n] for n in need if sides.get(n)}
        if miss:
            entry["unavailable"] = dict(entry.get("unavailable", {}), **miss)
        for n, why in entry.get("unavailable", {}).items():
            if n not in miss:
                could_not_run.append("scenario %d: %s: %s" % (sc, SIDE_LABELS[n], why))
        if miss:
            for n, why in miss.items():
                could_not_run.append("scenario %d: %s: %s" % (sc, SIDE_LABELS[n], why))
        if entry.get("limited"):
            could_not_run.append("scenario %d: %s" % (sc, entry["limited"]))
        if entry["status"] != "ok":
            could_not_run.append("scenario %d: %s" % (sc, entry["reason"]))
            print("scenario %d: could not run: %s" % (sc, entry["reason"]), flush=True)
        for side, r in entry.get("runs", {}).items():
            if not r["valid"]:
                r["probe"] = probe(h, sc, side)
        results["scenarios"][str(sc)] = entry

    md = markdown(results)
    os.makedirs(a.results, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    jpath = os.path.join(a.results, stamp + ".json")
    mpath = os.path.join(a.results, stamp + ".md")
    with open(jpath, "w") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(mpath, "w") as f:
        f.write(md)
    print(md)
    print("results: %s\n         %s" % (jpath, mpath))
    invalid = ["scenario %s: %s" % (k, SIDE_LABELS[n]) for k, s in results["scenarios"].items()
               for n, r in s.get("runs", {}).items() if not r["valid"]]
    invalid += ["scenario %s: %s (%s)" % (k, n, r.get("problems", "")) for k, s in results["scenarios"].items()
                for n, r in s.get("ws_runs", {}).items() if not r["valid"]]
    invalid += ["scenario %s" % k for k, s in results["scenarios"].items()
                if s.get("status") == "ok" and s.get("valid") is False]
    if could_not_run:
        print("bench: could not run:\n  " + "\n  ".join(could_not_run), file=sys.stderr)
        return 1
    if invalid:
        print("bench: invalid runs (more than %g%% failed requests): %s" % (INVALID_PCT, ", ".join(invalid)),
              file=sys.stderr)
        return 2
    return 0


def probe(h, sc, side):
    """After an invalid run: what does the endpoint answer now?"""
    try:
        a = h.a
        if side == "nginx":
            st, body = request(a.bench_url, "GET", "/ceiling")
        else:
            api = h.api["fastapi" if side == "php" else side]
            if sc == 4:
                st, body = request(api.url, "POST", "/token",
                                form={"username": api.username("u0"), "password": PASSWORD})
            else:
                tok = api.login("n" if sc == 2 else "u0")
                path = {1: "/users/me", 2: "/notifications/?limit=20", 3: "/rooms/join"}[sc]
                base = a.bench_url + "/php" if side == "php" else api.url
                if sc == 3:
                    request(base, "POST", "/rooms/leave", token=tok, body={"room_id": api.room_id})
                    st, body = request(base, "POST", path, token=tok, body={"room_id": api.room_id})
                else:
                    st, body = request(base, "GET", path, token=tok)
        return "%s %s" % (st, short(body)[:80])
    except Exception as e:  # noqa: BLE001 - a probe only informs
        return "probe failed: %s" % e


if __name__ == "__main__":
    sys.exit(main())
