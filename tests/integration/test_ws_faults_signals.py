"""Faults: signals to a ws node (issue 11, doc/operations.md "Signals").

- SIGTERM: every client of the node is closed with 1001 (going away), and
  the database work it had queued is done before it exits: chat sent right
  before the signal is stored and reaches the members on the other node
  (each message once, in each sender's order), the last playback change is
  stored and broadcast.  The chat table is locked (LOCK TABLES from a root
  session) while the senders send everything, then one heart_beat each:
  its answer proves the node has handled what came before it, so the chat
  and playback jobs wait in its database queue when the signal goes; the
  lock is released once every client has its 1001, and the node must
  still be there, flush, and only then exit.
- SIGHUP: the configuration is read again; a changed reloadable key takes
  effect without a connection being dropped, a file that does not load
  changes nothing.

The signalled node is started again in tearDown, and the configuration
file restored, whatever happened."""

import asyncio
import os
import shutil
import signal
import subprocess
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (WsTest, node_pid, open_room, open_user, open_ws,
                            pid_alive, start_node)

SENDERS = 4          # users on node 2
CONNS_EACH = 2       # connections each
CHATS_EACH = 15      # chats per connection (within ws.burst)
SEEKS = 5            # play_control by the owner, also on node 2


class SigtermTest(WsTest):

    def setUp(self):
        self.need_nodes(2)
        self.signalled = None
        start_node(2)

    def tearDown(self):
        if self.signalled:
            yq.wait_for(lambda: not pid_alive(self.signalled), 60, 0.1,
                        "node 2 to exit after SIGTERM")
        start_node(2)

    def unlock(self, lock):
        if lock.stdin:
            lock.stdin.write("UNLOCK TABLES;\n")
            lock.stdin.close()
            lock.stdin = None
            lock.wait(30)

    def sigterm(self, i):
        pid = node_pid(i)
        self.signalled = pid
        os.kill(pid, signal.SIGTERM)
        return pid

    def test_sigterm_closes_1001_and_flushes(self):
        owner, watcher = yq.new_user(), yq.new_user()
        senders = yq_rooms.new_users(SENDERS)
        room = self.create_room(owner)
        for u in senders + [watcher]:
            self.join(u, room)

        async def body():
            w, _ = await open_room(watcher, room, node=1)
            o, snap = await open_room(owner, room, node=2)
            conns = []
            for u in senders:
                for k in range(CONNS_EACH):
                    c, _ = await open_room(u, room, node=2)
                    conns.append((u, k, c))
            v0 = snap["playback"]["version"]
            # the chat table locked: the node's room thread will hold the
            # first insert and everything behind it until the lock goes,
            # which is after SIGTERM (so there is work to flush for sure)
            lock = subprocess.Popen(
                yq.mariadb_argv("-N", "-B", "--unbuffered"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.addCleanup(self.unlock, lock)
            lock.stdin.write("LOCK TABLES chat_messages WRITE; "
                             "SELECT 'locked';\n")
            lock.stdin.flush()
            line = await asyncio.to_thread(lock.stdout.readline)
            self.assertEqual(line.strip(), "locked")
            # everything at once, no waiting for replies
            texts = {}
            for u, k, c in conns:
                texts[(u.id, k)] = ["%s/%d/%d" % (u.username, k, i)
                                    for i in range(CHATS_EACH)]
                for t in texts[(u.id, k)]:
                    await c.send("chat_message", {"text": t},
                                 id="c-" + t)
            for i in range(SEEKS):
                await o.send("play_control", {"action": "seek",
                                              "position_ms": 1000 * (i + 1)},
                             id="s%d" % i)
            # the node has read (and queued) all of it once these answer
            for _, _, c in conns:
                await c.ping(30)
            await o.ping(30)
            pid = self.sigterm(2)

            for _, _, c in conns + [(None, None, o)]:
                code, reason = await c.closed(30)
                self.assertEqual(code, 1001, "%s: closed %s %r"
                                 % (c.label, code, reason))
            self.assertTrue(pid_alive(pid), "node 2 exited with its "
                            "database work blocked")
            self.unlock(lock)
            await asyncio.to_thread(yq.wait_for, lambda: not pid_alive(pid),
                                    60, 0.1, "node 2 to exit")

            # the watcher on node 1 got every chat, once, in order
            want = sum(len(v) for v in texts.values())
            got = []
            loop = asyncio.get_running_loop()
            end = loop.time() + 60
            while len(got) < want and loop.time() < end:
                m = await w.expect_type("chat_message", end - loop.time())
                got.append(m["payload"]["text"])
            self.assertEqual(len(got), len(set(got)), "duplicates")
            for key, ts in texts.items():
                mine = [t for t in got if t in set(ts)]
                self.assertEqual(mine, ts, "chat of %r on node 1" % (key,))
            # and the last seek, once the earlier ones
            versions = []
            while not versions or versions[-1] < v0 + SEEKS:
                m = await w.expect_type("play_control", 30, action="seek")
                versions.append(m["payload"]["version"])
            self.assertEqual(versions, sorted(set(versions)))

            # all of it stored
            rows = await asyncio.to_thread(
                yq.sql, "SELECT text FROM chat_messages WHERE room_id = %d;"
                % yq_rooms.room_id_of(room))
            stored = [r[0] for r in rows]
            self.assertEqual(len(stored), len(set(stored)), "stored twice")
            missing = [t for ts in texts.values() for t in ts
                       if t not in stored]
            self.assertEqual(missing, [], "chat not stored")
            _, snap1 = await open_room(owner, room, node=1)
            pb = snap1["playback"]
            self.assertEqual((pb["version"], pb["position_ms"]),
                             (v0 + SEEKS, 1000 * SEEKS), "%r" % (pb,))
        self.run_async(body(), limit=180)

    def test_a_client_of_a_stopping_node_is_not_served(self):
        """Connections that reach a node after SIGTERM get 1001 too; the
        other node serves the reconnect."""
        u = yq.new_user()

        async def body():
            c = await open_user(u, node=2)
            self.sigterm(2)
            code, _ = await c.closed(30)
            self.assertEqual(code, 1001)
            try:
                late = await open_ws("/ws", u, node=2, open_timeout=5)
            except (OSError, websockets.InvalidHandshake,
                    asyncio.TimeoutError):
                late = None     # it has exited already
            if late is not None:
                code, _ = await late.closed(30)
                self.assertIn(code, (1001, 1006))
            again = await open_user(u, node=1)
            await again.ping()
        self.run_async(body(), limit=90)


class SighupTest(WsTest):

    def setUp(self):
        self.need_nodes(1)
        self.saved = yq.CONF + ".sighup-test"
        shutil.copyfile(yq.CONF, self.saved)
        self.addCleanup(self.restore)

    def restore(self):
        if os.path.exists(self.saved):
            shutil.copyfile(self.saved, yq.CONF)
            os.unlink(self.saved)
            pid = node_pid(1)
            if pid_alive(pid):
                os.kill(pid, signal.SIGHUP)

    def append_conf(self, text):
        with open(yq.CONF, "a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")

    async def refused_4429(self, u):
        """One more connection of u on node 1: True when it is refused as
        too many connections, False (and closed) when it is served."""
        c = await open_ws("/ws", u, node=1)
        try:
            await c.ready(10)
        except (AssertionError, websockets.ConnectionClosed):
            code, _ = await c.closed(10)
            errs = [m for m in c.pending if m["type"] == "error"]
            self.assertEqual(code, 4429, "%r" % (c.pending,))
            self.assertTrue(errs and errs[0]["payload"]["code"]
                            == "rate_limited", "%r" % (c.pending,))
            return True
        await c.close()
        return False

    async def until(self, u, want, what):
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while loop.time() < end:
            if await self.refused_4429(u) == want:
                return
            await asyncio.sleep(0.2)
        self.fail("node 1 did not %s within 30 s of SIGHUP" % what)

    def test_sighup_reloads_without_dropping(self):
        u = yq.new_user()

        async def body():
            held = [await open_user(u, node=1) for _ in range(3)]
            self.assertFalse(await self.refused_4429(u))
            pid = node_pid(1)

            # a lower cap: new connections beyond it are refused, the ones
            # open stay
            self.append_conf("[ws]\nmax_connections_per_user = 3")
            os.kill(pid, signal.SIGHUP)
            await self.until(u, True, "apply max_connections_per_user = 3")
            for c in held:
                await c.ping()

            # a file that does not load: nothing changes, nothing drops
            self.append_conf("[ws]\nmax_message = lots")
            os.kill(pid, signal.SIGHUP)
            for _ in range(5):
                self.assertTrue(await self.refused_4429(u))
                await asyncio.sleep(0.2)
            self.assertTrue(pid_alive(pid))
            self.assertEqual(node_pid(1), pid)

            # the file as it was: the cap is back to its old value
            shutil.copyfile(self.saved, yq.CONF)
            os.kill(pid, signal.SIGHUP)
            await self.until(u, False, "return to the old cap")
            for c in held:
                await c.ping()
                self.assertIsNone(c.ws.close_code)
            self.assertEqual(node_pid(1), pid)
        self.run_async(body(), limit=150)


if __name__ == "__main__":
    unittest.main()
