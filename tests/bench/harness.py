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
}

WS_SCENARIOS = {5: "WebSocket", 6: "WebSocket", 7: "WebSocket", 8: "WebSocket"}


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


SCENARIOS = {
    1: ("GET /users/me", scenario_1),
    2: ("GET /notifications/?limit=20", scenario_2),
    3: ("room join+leave cycle", scenario_3),
    4: ("login (POST /token)", scenario_4),
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
            why = s.get("unavailable", {}).get(base) or s.get("unavailable", {}).get("ours") or "not run"
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
        if sc in WS_SCENARIOS or (s["status"] != "ok" and not any(t[0] == sc for t in TARGETS)):
            rows.append(["%d. %s" % (sc, s["name"]), "—", "—", "—", "—", s.get("reason", s["status"])])
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
    out.append("")
    out.extend(build_tables(results))
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
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--notifications", type=int, default=200)
    p.add_argument("--room-users", type=int, default=0)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--results", required=True)
    p.add_argument("scenarios", nargs="*", type=int)
    a = p.parse_args()
    if not a.room_users:
        a.room_users = 2 * a.connections
    if a.room_users > 999:
        sys.exit("bench: --room-users must stay below the room's max_members (1000)")
    wanted = a.scenarios or list(range(1, 9))

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
                         room_users=a.room_users),
        "hash_params": a.hash_params,
        "sides_unavailable": {k: v for k, v in sides.items() if v},
        "scenarios": {},
    }
    could_not_run = []
    for sc in wanted:
        if sc in WS_SCENARIOS:
            why = ("not yet available (the ws daemon does not exist yet)" if not a.ws_daemon
                   else "not yet available (the harness has no WebSocket scenarios yet)")
            print("scenario %d: %s" % (sc, why), flush=True)
            results["scenarios"][str(sc)] = {"name": "WebSocket scenario", "status": "unavailable", "reason": why}
            continue
        if sc not in SCENARIOS:
            could_not_run.append("scenario %d: no such scenario" % sc)
            results["scenarios"][str(sc)] = {"name": "?", "status": "failed", "reason": "no such scenario"}
            continue
        name, fn = SCENARIOS[sc]
        log("scenario %d: %s" % (sc, name))
        entry = {"name": name, "status": "ok"}
        if "ours" not in h.available:
            entry.update(status="failed", reason="ours: " + sides["ours"])
        else:
            try:
                entry.update(fn(h))
            except SetupError as e:
                entry.update(status="failed", reason=str(e))
            except subprocess.TimeoutExpired as e:
                entry.update(status="failed", reason="timed out: %s" % e)
        # which baseline this scenario needs but could not have
        need = {t[1] for t in TARGETS if t[0] == sc}
        miss = {n: sides[n] for n in need if sides.get(n)}
        if miss:
            entry["unavailable"] = miss
            for n, why in miss.items():
                could_not_run.append("scenario %d: %s: %s" % (sc, SIDE_LABELS[n], why))
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
