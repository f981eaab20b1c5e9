"""Resilience: a dying worker and a database outage (SPEC sections 0, 1, 6).

These tests break the stack on purpose, so run.py runs this module last.
- A FastCGI worker killed with SIGKILL is replaced (the API master in
  $YQ_STATE/run/api.pid supervises its direct children) and the pool keeps
  answering; also while wrk drives 64 connections, when at most 1 % of
  the requests may fail (the ones the dead worker held).  How soon the
  pool is whole again is printed (goal 2 s), not asserted.
- With MariaDB stopped (`$YQ_DEVSTACK db-stop`) requests that need it fail
  fast with 503 + Retry-After instead of hanging or 500ing; after
  `db-start` the same processes reconnect on their own.  db-start always
  runs, whatever happens in the test.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import yq
from yq import ApiTest



class ResilienceTest(ApiTest):

    def need(self, *names):
        for n in names:
            if not os.environ.get(n):
                self.skipTest("%s is not set" % n)

    def devstack(self, cmd):
        env = dict(os.environ, YQ_STATE=yq.STATE)
        p = subprocess.run([yq.DEVSTACK, cmd], env=env, timeout=180,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, "devstack %s failed:\n%s"
                         % (cmd, p.stdout.decode("utf-8", "replace")))

    def restart_db_if_down(self):
        if getattr(self, "db_down", False):
            self.devstack("db-start")
            self.db_down = False

    def master_pid(self):
        pid = yq.api_master_pid()
        os.kill(pid, 0)         # it is alive
        return pid

    def test_killed_worker_is_replaced(self):
        self.need("YQ_STATE")
        u = yq.new_user()
        master = self.master_pid()
        before = yq.live_children(master)
        self.assertTrue(before, "api master %d has no children" % master)
        victim = before[len(before) // 2]
        os.kill(victim, signal.SIGKILL)
        # A deadline for liveness only (how fast the pool heals is measured
        # by ./devstack bench, not asserted on a shared 2-core box).
        t0 = time.monotonic()
        now = []
        while time.monotonic() - t0 < 30.0:
            now = yq.live_children(master)
            if len(now) == len(before) and victim not in now:
                break
            time.sleep(0.05)
        self.assertNotIn(victim, now, "killed worker %d still there" % victim)
        self.assertEqual(len(now), len(before),
                         "pool not whole 30 s after a kill: %r -> %r"
                         % (before, now))
        self.assertTrue(set(now) - set(before), "no new worker pid")
        self.assertEqual(self.master_pid(), master)
        for i in range(20):
            r = yq.get("/token/check", token=u.access)
            self.assertEqual(r.status, 200, "request %d after the kill: %r"
                             % (i, r))

    def test_killed_worker_under_wrk_load(self):
        """kill -9 a worker while wrk drives 64 connections: errors (non-2xx
        answers and socket errors) at most 1 % of the requests, and the
        pool whole again."""
        self.need("YQ_STATE")
        if not shutil.which("wrk"):
            self.fail("wrk is not installed (etc/debian-packages.txt)")
        u = yq.new_user()
        master = self.master_pid()
        before = yq.live_children(master)
        self.assertTrue(before, "api master %d has no children" % master)
        argv = ["wrk", "-t2", "-c64", "-d8s", "--timeout", "20s",
                "-H", "Authorization: Bearer " + u.access,
                yq.BASE_URL + yq.API_PREFIX + "/token/check"]
        out = {}

        def drive():
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=120)
            out["rc"], out["text"] = p.returncode, p.stdout + p.stderr
        t = threading.Thread(target=drive)
        t.start()
        time.sleep(3)
        victim = before[len(before) // 2]
        os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        whole_s, now = None, []
        while time.monotonic() - t_kill < 30.0:
            now = yq.live_children(master)
            if len(now) == len(before) and victim not in now:
                whole_s = time.monotonic() - t_kill
                break
            time.sleep(0.02)
        t.join(130)
        text = out.get("text", "")
        self.assertEqual(out.get("rc"), 0, "wrk failed:\n%s" % text)
        m = re.search(r"(\d+) requests in", text)
        self.assertTrue(m, "no request count from wrk:\n%s" % text)
        total = int(m.group(1))
        bad = sum(int(x) for x in re.findall(
            r"Non-2xx or 3xx responses: (\d+)", text))
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), "
                         r"write (\d+), timeout (\d+)", text)
        if sock:
            bad += sum(int(x) for x in sock.groups())
        sys.stderr.write("    wrk: %d requests, %d errors (%.3f %%); pool "
                         "whole %s after the kill\n"
                         % (total, bad, 100.0 * bad / max(total, 1),
                            "%.2f s" % whole_s if whole_s is not None
                            else "not"))
        self.assertGreater(total, 0)
        self.assertLessEqual(bad, total // 100, "errors under load:\n%s"
                             % text)
        self.assertIsNotNone(whole_s, "pool not whole 30 s after a kill: "
                             "%r -> %r" % (before, now))
        self.assertNotIn(victim, now)
        self.assertEqual(self.master_pid(), master)
        for i in range(10):
            self.assertStatus(yq.get("/token/check", token=u.access), 200)

    def test_every_worker_killed_in_turn(self):
        self.need("YQ_STATE")
        u = yq.new_user()
        master = self.master_pid()
        for victim in yq.live_children(master):
            os.kill(victim, signal.SIGKILL)
            time.sleep(0.1)
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 30.0:
            r = yq.get("/token/check", token=u.access, check=False)
            if r.status == 200:
                n += 1
                if n >= 5:
                    break
            time.sleep(0.1)
        self.assertGreaterEqual(n, 5, "the pool did not come back")
        for i in range(20):
            self.assertStatus(yq.get("/users/me", token=u.access), 200)

    def test_database_outage(self):
        self.need("YQ_STATE", "YQ_DEVSTACK")
        u = yq.new_user()
        self.assertStatus(yq.get("/users/me", token=u.access), 200)
        self.db_down = True
        self.addCleanup(self.restart_db_if_down)
        self.devstack("db-stop")

        # Several requests so that more than one worker sees the outage.
        for i in range(6):
            r = yq.get("/users/me", token=u.access, timeout=30)
            self.assertDetail(r, 503)
            self.assertRetryAfter(r)
        r = yq.login(u.username, u.password, timeout=30)
        self.assertDetail(r, 503)
        r = yq.post("/users/", {"username": yq.rand_name(),
                                "email": yq.rand_email(),
                                "password": yq.rand_password()}, timeout=30)
        self.assertDetail(r, 503)

        # Back without restarting anything: ten 200s in a row (so more
        # than one worker has reconnected); the 30 s deadline is for
        # liveness, the recovery time is the benchmarks' to measure.
        self.devstack("db-start")
        self.db_down = False
        t0 = time.monotonic()
        streak, last = 0, None
        while time.monotonic() - t0 < 30.0 and streak < 10:
            last = yq.get("/users/me", token=u.access, timeout=5)
            if last.status == 200:
                streak += 1
            else:
                streak = 0
                time.sleep(0.2)
        self.assertEqual(streak, 10, "not healthy 30 s after db-start; "
                         "last answer %r" % (last,))
        self.assertStatus(yq.login(u.username, u.password), 200)
