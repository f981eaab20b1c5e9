"""GET /metrics (doc/operations.md): a ws node started for this test with
YIQIKAN_WS_METRICS_LISTEN (the environment overrides ws.metrics_listen)
answers in the Prometheus text format on its own port, 404 elsewhere, and
its figures follow what its clients do: connections by state, rooms,
messages in by type, drops, closes by code, deliveries, the database
queues, the queue tail (woken by a datagram after its own relay row); a
backlog for one client goes out in one write, intact and in order.
The node is a full member of the deployment (its
own node id and ws port) and is stopped with SIGTERM at the end, which must
be a clean exit."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import websockets

import yq
import yq_rooms
from test_ws_common import (RATE_PER_S, Client, WsTest, _open_clients,
                            is_snapshot, pid_alive, port_open, room_path,
                            stack_env)

LINE = re.compile(r'^([a-z_]+)(\{([a-z_]+)="([^"]*)"\})? (-?[0-9]+)$')


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse(text):
    """{(name, label value or None): int}; fails on a line that is
    neither a comment nor a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or \
                line.startswith("# TYPE "):
            continue
        m = LINE.match(line)
        if not m:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        out[(m.group(1), m.group(4))] = int(m.group(5))
    return out


class MetricsTest(WsTest):

    limit = 90

    def setUp(self):
        super().setUp()
        build = stack_env().get("BUILD")
        self.assertTrue(build, "no BUILD in $YQ_STATE/env")
        self.ws_port, self.m_port = free_port(), free_port()
        env = dict(os.environ)
        env["YIQIKAN_WS_PORT"] = str(self.ws_port)
        # woken on udp ws_port (wake.h); what it queues itself (the relay
        # of a chat message) wakes it too, through queue.wake
        env["YIQIKAN_WS_WAKE_LISTEN"] = "127.0.0.1:%d" % self.ws_port
        env["YIQIKAN_QUEUE_WAKE"] = "127.0.0.1:%d" % self.ws_port
        env["YIQIKAN_WS_NODE_ID"] = "metrics-test"
        env["YIQIKAN_WS_METRICS_LISTEN"] = "127.0.0.1:%d" % self.m_port
        log = open(os.path.join(yq.STATE, "log", "ws-metrics.out"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(build, "yiqikan-ws"), "-c", yq.CONF],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            start_new_session=True)
        log.close()
        yq.wait_for(lambda: port_open(self.ws_port) and
                    port_open(self.m_port), 15, interval=0.1,
                    what="the metrics node to listen")

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        super().tearDown()

    def get(self, path="/metrics"):
        url = "http://127.0.0.1:%d%s" % (self.m_port, path)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.headers.get("Content-Type", ""), \
                    r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), ""

    def scrape(self):
        status, ctype, body = self.get()
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        return parse(body)

    async def connect(self, path, query):
        url = "ws://127.0.0.1:%d%s?%s" % (self.ws_port, path, query)
        ws = await websockets.connect(url, ping_interval=None,
                                      max_queue=None, open_timeout=10)
        c = Client(ws, "metrics-node%s" % path)
        _open_clients.append(c)
        return c

    def test_metrics_follow_the_clients(self):
        owner = yq.new_user()
        room = self.create_room(owner, keep_chat_history=False)
        m0 = self.scrape()
        for name, label in [
                ("yiqikan_ws_connections", "authenticating"),
                ("yiqikan_ws_connections", "ready"),
                ("yiqikan_ws_rooms", None),
                ("yiqikan_ws_send_queue_messages", None),
                ("yiqikan_ws_send_queue_bytes", None),
                ("yiqikan_ws_messages_in_total", "heart_beat"),
                ("yiqikan_ws_messages_in_total", "chat_message"),
                ("yiqikan_ws_deliveries_total", None),
                ("yiqikan_ws_coalesced_deliveries_total", None),
                ("yiqikan_ws_drops_total", "slow_consumer"),
                ("yiqikan_ws_drops_total", "rate_limited"),
                ("yiqikan_ws_db_jobs_queued", "auth"),
                ("yiqikan_ws_db_jobs_queued", "room"),
                ("yiqikan_ws_queue_tail_lag_ms", None),
                ("yiqikan_ws_queue_wakeups_total", None)]:
            self.assertIn((name, label), m0)
        self.assertEqual(m0[("yiqikan_ws_connections", "ready")], 0)
        self.assertEqual(m0[("yiqikan_ws_rooms", None)], 0)
        self.assertEqual(self.get("/nothing")[0], 404)
        self.assertEqual(self.get("/")[0], 404)

        async def body():
            c = await self.connect(room_path(room), "token=" + owner.access)
            first = await c._read(10)
            self.assertTrue(is_snapshot(first), first)
            await c.ok("chat_message", {"text": "counted"})
            await c.ping()
            await c.send_raw("{not json")
            await c.expect_type("error", 5, code="bad_request")
            await c.send("dance", {})
            await c.expect_type("error", 5, code="unknown_type")
            await c.ping()
            m1 = await asyncio.to_thread(self.scrape)
            self.assertEqual(m1[("yiqikan_ws_connections", "ready")], 1)
            self.assertEqual(m1[("yiqikan_ws_connections",
                                 "authenticating")], 0)
            self.assertEqual(m1[("yiqikan_ws_rooms", None)], 1)
            d = {k: m1[k] - m0.get(k, 0) for k in m1}
            self.assertEqual(d[("yiqikan_ws_messages_in_total",
                                "heart_beat")], 2)
            self.assertEqual(d[("yiqikan_ws_messages_in_total",
                                "chat_message")], 1)
            self.assertEqual(d[("yiqikan_ws_messages_in_total",
                                "invalid")], 1)
            self.assertEqual(d[("yiqikan_ws_messages_in_total",
                                "unknown")], 1)
            self.assertEqual(d[("yiqikan_ws_drops_total", "unknown_type")],
                             1)
            self.assertEqual(d[("yiqikan_ws_drops_total", "bad_request")],
                             1)
            # snapshot, chat, 2 heart_beats, 2 errors
            self.assertGreaterEqual(d[("yiqikan_ws_deliveries_total", None)],
                                    6)
            self.assertGreaterEqual(m1[("yiqikan_ws_queue_tail_lag_ms",
                                        None)], 0)
            # the chat's relay row woke the tail (the datagram is read at
            # its next wait)
            await asyncio.to_thread(
                yq.wait_for, lambda: self.scrape()[
                    ("yiqikan_ws_queue_wakeups_total", None)] >
                m0[("yiqikan_ws_queue_wakeups_total", None)], 10, 0.1,
                "a wake-up datagram to reach the queue tail")

            # a refused token: closed with 4401, counted
            bad = await self.connect(room_path(room), "token=garbage")
            await bad.expect_type("error", 5)
            await bad.closed(5)
            await c.close()
            await asyncio.to_thread(
                yq.wait_for, lambda: self.scrape()[
                    ("yiqikan_ws_connections", "ready")] == 0, 10, 0.1,
                "the node to count the connection closed")
            m2 = await asyncio.to_thread(self.scrape)
            self.assertEqual(m2.get(("yiqikan_ws_closes_total", "4401"), 0)
                             - m0.get(("yiqikan_ws_closes_total", "4401"), 0),
                             1)
            self.assertGreaterEqual(
                m2.get(("yiqikan_ws_closes_total", "peer"), 0) -
                m0.get(("yiqikan_ws_closes_total", "peer"), 0), 1)
            self.assertEqual(m2[("yiqikan_ws_send_queue_messages", None)], 0)
        self.run_async(body())

        # SIGTERM: a clean stop
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(20), 0)

    def test_a_backlog_goes_out_in_one_write_intact_and_in_order(self):
        """A burst of custom events of three sizes (2-byte frame headers
        and 4-byte ones) queues several messages for the reader at once;
        they go out side by side in one write (counted by
        yiqikan_ws_coalesced_deliveries_total) and arrive whole, each
        once, in the order sent.  Bursts repeat until one was coalesced
        (at most eight)."""
        owner, reader = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(reader, room)
        sizes = [3, 300, 5000]
        per_burst = 9

        async def body():
            s = await self.connect(room_path(room), "token=" + owner.access)
            r = await self.connect(room_path(room), "token=" + reader.access)
            for c in (s, r):
                self.assertTrue(is_snapshot(await c._read(10)))
            await r.ping()
            base = await asyncio.to_thread(self.scrape)
            for burst in range(8):
                sent = []
                for i in range(per_burst):
                    name = "b%d-%d" % (burst, i)
                    data = name + ":" + "z" * sizes[i % len(sizes)]
                    sent.append((name, data))
                await asyncio.gather(*(s.send("custom_event",
                                              {"name": n, "data": d})
                                       for n, d in sent))
                got = []
                while len(got) < len(sent):
                    m = await r._read(10)
                    if m["type"] == "custom_event":
                        got.append((m["payload"]["name"],
                                    m["payload"]["data"]))
                self.assertEqual(got, sent)
                await r.ping()
                m = await asyncio.to_thread(self.scrape)
                key = ("yiqikan_ws_coalesced_deliveries_total", None)
                if m[key] > base[key]:
                    break
                await asyncio.sleep(per_burst / RATE_PER_S)
            else:
                self.fail("eight bursts of %d, and never two messages in "
                          "one write" % per_burst)
        self.run_async(body(), limit=80)


if __name__ == "__main__":
    unittest.main()
