"""Faults under load: kill -9 a ws node holding 1,000 clients while
notifications are being created for them (issue 11).

USERS users hold CONNS_EACH connections each, all on node 2.  A thread
creates notifications for them through REST, steadily, for the whole test
(the room owner flips each user's role: every change notifies that user).
Node 2 is killed with SIGKILL; every client reconnects through the front
end (nginx passes them to node 1, or to node 2 once it is back: it is
started again at once) with `last_notification_id` = the highest id it has
seen, after a short random backoff, as the web client does.  Then:

- every client is back (served: a heart_beat is answered);
- every connection has, after dropping repeats by id (delivery is
  at-least-once, SPEC section 5), exactly the notifications the database
  holds for its user, in id order: none lost, none twice;
- how many repeats the reconnects caused is printed, as is the time the
  test took (nothing of either is a bound: the box is shared).

Runs after the other ws tests ("faults" > "admin", ...) and leaves node 2
running."""

import asyncio
import json
import random
import resource
import sys
import threading
import time
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (KEEPALIVE_S, WsTest, kill_node, make_url,
                            node_pid, now_ms, pid_alive, start_node)

USERS = 100
CONNS_EACH = 10      # 1,000 connections; below ws.max_connections_per_user
LIVE_S = 600         # liveness bound of each phase (never reached normally)


class Conn:
    """One client: reconnects until told to stop, keeps what it saw."""

    def __init__(self, user, node):
        self.user = user
        self.node = node            # the first connect; then the front end
        self.ids = []               # notification ids, first sightings
        self.seen = set()
        self.repeats = 0
        self.last = None
        self.generation = 0         # connections served so far
        self.closes = []            # close codes of the server
        self.ws = None
        self.stop = False

    def url(self):
        q = {}
        if self.last is not None:
            q["last_notification_id"] = str(self.last)
        return make_url("/ws", self.user, node=self.node, query=q)

    def on_message(self, raw):
        m = json.loads(raw)
        if m.get("type") == "notification":
            nid = m["payload"]["id"]
            if nid in self.seen:
                self.repeats += 1
            else:
                self.seen.add(nid)
                self.ids.append(nid)
                self.last = nid if self.last is None else max(self.last, nid)
        elif m.get("type") == "heart_beat" and m.get("ref") == "ready":
            self.generation += 1

    async def keepalive(self, ws):
        try:
            await ws.send(json.dumps({"type": "heart_beat", "id": "ready",
                                      "payload": {"client_ts": now_ms()}}))
            while True:
                await asyncio.sleep(KEEPALIVE_S)
                await ws.send(json.dumps({"type": "heart_beat", "id": "ka",
                                          "payload": {"client_ts": now_ms()}}))
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass

    async def run(self):
        backoff = 0.2
        while not self.stop:
            try:
                ws = await websockets.connect(
                    self.url(), ping_interval=None, open_timeout=30,
                    close_timeout=2, max_queue=None, max_size=1 << 22)
            except (OSError, asyncio.TimeoutError,
                    websockets.InvalidHandshake, EOFError):
                await asyncio.sleep(random.uniform(0.5, 1.0) * backoff)
                backoff = min(backoff * 2, 3.0)
                continue
            self.ws = ws
            ka = asyncio.ensure_future(self.keepalive(ws))
            try:
                async for raw in ws:
                    self.on_message(raw)
                    backoff = 0.2
            except websockets.ConnectionClosed:
                pass
            finally:
                ka.cancel()
            self.closes.append(ws.close_code)
            self.ws = None
            self.node = None
            if not self.stop:
                await asyncio.sleep(random.uniform(0.1, 1.0) * backoff)
                backoff = min(backoff * 2, 3.0)


class Notifier(threading.Thread):
    """Role flips through REST, one user after the other, until stopped."""

    def __init__(self, owner, room, users):
        super().__init__(daemon=True)
        self.owner, self.room, self.users = owner, room, users
        self.halt = threading.Event()
        self.made = 0
        self.errors = []

    def run(self):
        roles = {}
        i = 0
        while not self.halt.is_set():
            u = self.users[i % len(self.users)]
            i += 1
            role = "member" if roles.get(u.id) == "moderator" else "moderator"
            r = yq_rooms.r_set_role(self.owner, self.room, u, role)
            if r.status == 200:
                roles[u.id] = role
                self.made += 1
            else:
                self.errors.append(r.status)

    def wait_made(self, n, timeout):
        yq.wait_for(lambda: self.made >= n or not self.is_alive(), timeout,
                    0.05, "%d notifications" % n)


class KillUnderLoadTest(WsTest):

    def setUp(self):
        self.need_nodes(2)
        start_node(2)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 8192)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        self.t0 = time.monotonic()

    def tearDown(self):
        self.restart(2)

    def restart(self, i):
        """Start node i again; a start that fails (seen once: the port
        still taken right after the kill, EADDRINUSE) is tried again, as
        systemd's Restart= would."""
        end = time.monotonic() + LIVE_S
        while True:
            try:
                start_node(i)
                return
            except AssertionError:
                if time.monotonic() > end:
                    raise
                self.note("node %d did not start: again" % i)
                time.sleep(1)

    def note(self, what):
        sys.stderr.write("    [%.1fs] %s\n" % (time.monotonic() - self.t0,
                                                 what))
        sys.stderr.flush()

    def test_kill_9_with_1000_clients_and_notifications_flowing(self):
        owner = yq.new_user()
        room = self.create_room(owner, max_members=USERS + 10)
        users = yq_rooms.in_parallel(
            [yq.new_user for _ in range(USERS)], timeout=300)
        for u in users:
            self.join(u, room)
        self.note("%d users in room %d" % (USERS, room["id"]))
        conns = [Conn(u, 2) for u in users for _ in range(CONNS_EACH)]
        notifier = Notifier(owner, room, users)

        async def all_served(gen, what):
            loop = asyncio.get_running_loop()
            end = loop.time() + LIVE_S
            while loop.time() < end:
                behind = [c for c in conns if c.generation < gen or
                          c.ws is None]
                if not behind:
                    return
                await asyncio.sleep(0.2)
            self.fail("%d of %d clients not %s" % (len(behind), len(conns),
                                                    what))

        async def body():
            tasks = [asyncio.ensure_future(c.run()) for c in conns]
            try:
                await all_served(1, "served on node 2")
                self.assertTrue(all(c.closes == [] for c in conns))
                self.note("%d clients served on node 2" % len(conns))
                notifier.start()
                await asyncio.to_thread(notifier.wait_made, USERS, LIVE_S)

                await asyncio.to_thread(kill_node, 2)
                made_at_kill = notifier.made
                self.note("node 2 killed (%d notifications so far)"
                          % made_at_kill)
                await asyncio.to_thread(self.restart, 2)
                self.note("node 2 restarted")
                await all_served(2, "back after the kill")
                self.note("every client back (%d notifications so far)"
                          % notifier.made)
                codes = {c.closes[0] for c in conns}
                self.assertEqual(codes, {1006}, "close codes of the kill")
                # one more round for every user, then stop
                await asyncio.to_thread(notifier.wait_made,
                                        notifier.made + USERS, LIVE_S)
                notifier.halt.set()
                await asyncio.to_thread(notifier.join, 60)
                self.assertEqual(notifier.errors, [])

                ids = ",".join(str(u.id) for u in users)
                expected = {u.id: [] for u in users}
                for uid, nid in await asyncio.to_thread(
                        yq.sql, "SELECT user_id, id FROM notifications "
                        "WHERE user_id IN (%s) ORDER BY id;" % ids):
                    expected[int(uid)].append(int(nid))
                total = sum(len(v) for v in expected.values())
                self.assertEqual(total, notifier.made)

                # every connection catches up (delivery is asynchronous)
                loop = asyncio.get_running_loop()
                end = loop.time() + LIVE_S
                while loop.time() < end:
                    if all(len(c.ids) >= len(expected[c.user.id])
                           for c in conns):
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)    # anything extra shows up too
                short = 0
                for c in conns:
                    if c.ids != expected[c.user.id]:
                        short += 1
                        if short <= 3:
                            want = expected[c.user.id]
                            self.assertEqual(
                                c.ids, want, "user %d: %d of %d, missing %r, "
                                "unexpected %r" % (
                                    c.user.id, len(set(c.ids) & set(want)),
                                    len(want), sorted(set(want) - c.seen),
                                    sorted(c.seen - set(want))))
                self.assertEqual(short, 0)
                self.note("%d notifications (%d created after the kill), "
                          "each connection got all of its user's, %d "
                          "repeats dropped"
                          % (total, total - made_at_kill,
                             sum(c.repeats for c in conns)))
            finally:
                notifier.halt.set()
                for c in conns:
                    c.stop = True
                    if c.ws is not None:
                        c.ws.transport.abort()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        self.run_async(body(), limit=3 * LIVE_S)
        self.assertTrue(pid_alive(node_pid(2)))
        self.note("took %.1f s" % (time.monotonic() - self.t0))


if __name__ == "__main__":
    unittest.main()
