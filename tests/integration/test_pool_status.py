"""The API pool status page (doc/operations.md, "API pool status").

The page is off unless api.status_path is set.  When the stack under test
has not set it, the tests append it to YQ_CONF and send SIGHUP to the API
master (a reload, which the page then counts), and put the file back at
the end.  The counters are shared memory between the master and its
workers: the tests check they count every request exactly once, per
worker and in total, that a killed worker shows up as a restart with a new
pid, and that only the addresses of api.status_allow see the page.
"""

import os
import re
import signal
import time

import yq
from yq import ApiTest

DEFAULT_PATH = "/_pool/status"
ALLOWED = "127.0.0.1"          # in the default api.status_allow
PROM_METRICS = {
    "yiqikan_api_start_time_seconds": "gauge",
    "yiqikan_api_requests_total": "counter",
    "yiqikan_api_worker_restarts_total": "counter",
    "yiqikan_api_reloads_total": "counter",
    "yiqikan_api_workers": "gauge",
    "yiqikan_api_worker_requests_total": "counter",
}



class PoolStatusTest(ApiTest):

    @classmethod
    def setUpClass(cls):
        cls.saved = None
        if not yq.CONF or not yq.STATE or not os.path.exists(yq.CONF):
            raise AssertionError("YQ_CONF and YQ_STATE must name the stack under test")
        path = yq.conf_value("api", "status_path", "")
        if not path:
            with open(yq.CONF, encoding="utf-8") as f:
                cls.saved = f.read()
            with open(yq.CONF, "a", encoding="utf-8") as f:
                f.write("\n[api]\nstatus_path = %s\n" % DEFAULT_PATH)
            os.kill(yq.api_master_pid(), signal.SIGHUP)
            path = DEFAULT_PATH
        cls.path = yq.API_PREFIX + path
        yq.wait_for(lambda: cls.fetch().status == 200, 60, 0.1, "the status page")

    @classmethod
    def tearDownClass(cls):
        if cls.saved is None:
            return
        with open(yq.CONF, "w", encoding="utf-8") as f:
            f.write(cls.saved)
        os.kill(yq.api_master_pid(), signal.SIGHUP)
        yq.wait_for(lambda: cls.fetch().status == 404, 60, 0.1, "the page to go")
        yq.wait_for(lambda: len(yq.live_children(yq.api_master_pid())) ==
                    yq.conf_int("api", "workers", 2), 60, 0.1, "the pool after reload")

    @classmethod
    def fetch(cls, query="", source=ALLOWED, method="GET", check=True):
        return yq.request(method, cls.path + query, api=False, source=source, check=check)

    def status(self):
        r = self.fetch()
        self.assertStatus(r, 200)
        return r.json

    def test_fields(self):
        s = self.status()
        for k in ("pool", "start_time", "start_since", "requests", "restarts", "reloads",
                  "workers", "busy_workers", "idle_workers", "processes"):
            self.assertIn(k, s)
        n = yq.conf_int("api", "workers", 2)
        self.assertEqual(s["workers"], n)
        self.assertEqual(len(s["processes"]), n)
        self.assertEqual(s["busy_workers"] + s["idle_workers"], n)
        self.assertGreaterEqual(s["busy_workers"], 1)   # this very request
        self.assertEqual(sorted(p["pid"] for p in s["processes"]),
                         yq.live_children(yq.api_master_pid()))
        self.assertEqual(sorted(p["slot"] for p in s["processes"]), list(range(n)))
        for p in s["processes"]:
            self.assertIn(p["state"], ("busy", "idle"))
            self.assertGreaterEqual(p["start_time"], s["start_time"])
        self.assertLessEqual(s["start_time"], time.time() + 5)
        if self.saved is not None:
            self.assertGreaterEqual(s["reloads"], 1)

    def test_counts_every_request_once(self):
        u = yq.new_user()
        before = self.status()
        n = 17
        for _ in range(n):
            self.assertStatus(yq.get("/users/me", token=u.access), 200)
        self.assertStatus(yq.get("/no/such/path"), 404)
        after = self.status()
        # the first status request is counted once it is answered
        self.assertEqual(after["requests"] - before["requests"], n + 2)
        per = {p["pid"]: p["requests"] for p in before["processes"]}
        if {p["pid"] for p in after["processes"]} == set(per):
            self.assertEqual(sum(p["requests"] - per[p["pid"]]
                                 for p in after["processes"]), n + 2)

    def test_prometheus_text(self):
        j = self.status()
        r = self.fetch("?format=prometheus", check=False)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain; version=0.0.4"))
        text = r.raw.decode("utf-8")
        types, values = {}, {}
        for line in text.splitlines():
            m = re.fullmatch(r"# TYPE (\w+) (\w+)", line)
            if m:
                types[m.group(1)] = m.group(2)
                continue
            if line.startswith("#"):
                self.assertRegex(line, r"^# HELP \w+ .+")
                continue
            m = re.fullmatch(r'(\w+)(\{[^}]*\})? (\d+)', line)
            self.assertIsNotNone(m, "not a sample line: %r" % line)
            values[m.group(1) + (m.group(2) or "")] = int(m.group(3))
        self.assertEqual(types, PROM_METRICS)
        self.assertEqual(values["yiqikan_api_requests_total"], j["requests"] + 1)
        self.assertEqual(values["yiqikan_api_worker_restarts_total"], j["restarts"])
        self.assertEqual(values["yiqikan_api_start_time_seconds"], j["start_time"])
        self.assertEqual(values['yiqikan_api_workers{state="busy"}'] +
                         values['yiqikan_api_workers{state="idle"}'], j["workers"])
        for p in j["processes"]:
            self.assertIn('yiqikan_api_worker_requests_total{slot="%d",pid="%d"}'
                          % (p["slot"], p["pid"]), values)

    def test_killed_worker_is_a_restart(self):
        before = self.status()
        victim = before["processes"][0]["pid"]
        os.kill(victim, signal.SIGKILL)

        def replaced():
            s = self.status()
            pids = [p["pid"] for p in s["processes"]]
            return s if victim not in pids and len(pids) == before["workers"] else None
        after = yq.wait_for(replaced, 60, 0.1, "the killed worker's replacement")
        self.assertEqual(after["restarts"], before["restarts"] + 1)
        self.assertEqual(after["reloads"], before["reloads"])
        new = [p for p in after["processes"] if p["slot"] == before["processes"][0]["slot"]]
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new[0]["pid"], victim)
        # the total keeps what the dead worker served
        self.assertGreater(after["requests"], before["requests"])

    def test_hidden_from_other_addresses(self):
        unknown = yq.get("/no/such/path", source="127.9.8.7")
        for src in ("127.9.8.7", "127.0.0.2"):
            with self.subTest(source=src):
                r = self.fetch(source=src)
                self.assertDetail(r, 404)
                self.assertEqual(r.json, unknown.json)
                self.assertDetail(self.fetch("?format=prometheus", source=src), 404)
                self.assertDetail(self.fetch(source=src, method="POST"), 404)

    def test_bad_requests(self):
        r = self.fetch(method="POST")
        self.assertDetail(r, 405)
        self.assertEqual(r.headers.get("allow"), "GET")
        self.assert422(self.fetch("?format=xml"), loc=["query", "format"])
        self.assert422(self.fetch("?format=%FF"), loc=["query", "format"])
