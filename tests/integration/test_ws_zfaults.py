"""Faults (SPEC sections 0 and 5): a ws node killed with SIGKILL while
clients are connected.  Clients reconnect to the other node (directly or
through the front end) and find the room's playback as it was last set
(persisted at most ws.playback_save_ms after a change, so the test waits
that long before the kill), and every notification created while their node
was dead.

The killed node is always started again (the way ./devstack starts it) in
a finally block, so the stack is left with all its nodes running.  Named
"zfaults" so that it runs after the other ws tests."""

import asyncio
import time
import unittest

import yq
import yq_rooms
from test_ws_common import (PLAYBACK_SAVE_MS, WsTest, first_seen,
                            kill_node, node_pid,
                            open_room, open_user, open_ws, pid_alive,
                            start_node)

URL = "https://media.example.com/survivor.mp4"


class NodeKillTest(WsTest):

    def setUp(self):
        self.need_nodes(2)
        if not pid_alive(node_pid(2)):
            start_node(2)

    def tearDown(self):
        start_node(2)

    def test_playback_survives_a_killed_node(self):
        a, b, c = yq_rooms.new_users(3)
        shared = self.create_room(a)       # b watches it on node 1
        alone = self.create_room(a)        # only node 2 serves it
        self.join(b, shared)
        self.join(c, shared)
        self.join(c, alone)

        async def set_state(conn):
            await conn.ok("play_control", {"action": "load",
                                           "media_url": URL})
            await conn.ok("play_control", {"action": "play",
                                           "position_ms": 1000})
            await conn.ok("play_control", {"action": "rate",
                                           "position_ms": 5000, "rate": 1.5})
            last = await conn.ok("play_control", {"action": "pause",
                                                  "position_ms": 77777})
            return last["payload"]

        def same(pb, last):
            return (pb["media_url"], pb["state"], pb["position_ms"],
                    pb["rate"], pb["version"]) == \
                (URL, "paused", 77777, 1.5, last["version"])

        async def body():
            a_shared, _ = await open_room(a, shared, node=2)
            a_alone, _ = await open_room(a, alone, node=2)
            cb, _ = await open_room(b, shared, node=1)
            last_shared = await set_state(a_shared)
            last_alone = await set_state(a_alone)
            await cb.expect_type("play_control", 5,
                                 version=last_shared["version"])
            await asyncio.sleep(PLAYBACK_SAVE_MS / 1000.0 + 0.7)

            await asyncio.to_thread(kill_node, 2)
            for conn in (a_shared, a_alone):
                code, _ = await conn.closed(5)
                self.assertEqual(code, 1006, "%s: the node was killed"
                                 % conn.label)

            # back on node 1: the shared room (live there) and the one that
            # only node 2 served (from the database)
            for room, last in ((shared, last_shared), (alone, last_alone)):
                with self.subTest(room=room["id"], via="node 1"):
                    _, snap = await open_room(a, room, node=1)
                    self.assertTrue(same(snap["playback"], last),
                                    "playback %r, last set %r"
                                    % (snap["playback"], last))
                with self.subTest(room=room["id"], via="front end"):
                    _, snap = await open_room(c, room)
                    self.assertTrue(same(snap["playback"], last),
                                    "playback %r, last set %r"
                                    % (snap["playback"], last))
            # the member who stayed on node 1 still hears the room
            a1, _ = await open_room(a, shared, node=1)
            await a1.ok("chat_message", {"text": "we survived"})
            await cb.expect_type("chat_message", 5, text="we survived")
            # and control continues from where it was
            nxt = await a1.ok("play_control", {"action": "play",
                                               "position_ms": 77777})
            self.assertEqual(nxt["payload"]["version"],
                             last_shared["version"] + 1)

            # node 2 comes back and resumes the rooms from the database
            await asyncio.to_thread(start_node, 2)
            _, snap = await open_room(c, alone, node=2)
            self.assertTrue(same(snap["playback"], last_alone),
                            "restarted node: %r" % (snap["playback"],))
            await asyncio.sleep(PLAYBACK_SAVE_MS / 1000.0 + 0.7)
            _, snap = await open_room(c, shared, node=2)
            pb = snap["playback"]
            self.assertEqual((pb["state"], pb["version"]),
                             ("playing", last_shared["version"] + 1),
                             "restarted node: %r" % (pb,))
        self.run_async(body(), limit=60)

    def test_notifications_while_a_node_is_dead(self):
        """A user whose node died gets, on reconnecting elsewhere with the
        last id seen, every notification created meanwhile: none lost."""
        u = yq.new_user()
        n = 20

        async def body():
            c = await open_user(u, node=2)
            n0 = await asyncio.to_thread(yq.ctl_notify, u, "system",
                                         {"before": True})
            m = await c.expect_type("notification", 3, id=n0)
            last_seen = m["payload"]["id"]
            await asyncio.to_thread(kill_node, 2)
            code, _ = await c.closed(5)
            self.assertEqual(code, 1006)

            created = []
            for i in range(n):
                created.append(await asyncio.to_thread(
                    yq.ctl_notify, u, "system", {"n": i}))
            self.assertFalse(pid_alive(node_pid(2)))

            for via in (1, None):
                with self.subTest(via=via or "front end"):
                    r = await open_ws("/ws", u, node=via, query={
                        "last_notification_id": str(last_seen)})
                    await r.ready()
                    got = [x["payload"] for x in first_seen(
                        [x for x in r.pending
                         if x["type"] == "notification"])]
                    self.assertEqual([p["id"] for p in got], created,
                                     "%d of %d notifications came back"
                                     % (len(set(p["id"] for p in got) &
                                            set(created)), n))
                    self.assertEqual([p["content"] for p in got],
                                     [{"n": i} for i in range(n)])
                    await r.close()

            # node 2 again: it tails the queue from now on
            await asyncio.to_thread(start_node, 2)
            c2 = await open_user(u, node=2, query={
                "last_notification_id": str(created[-1])})
            self.assertEqual([x for x in c2.pending
                              if x["type"] == "notification"], [])
            t0 = time.monotonic()
            nid = await asyncio.to_thread(yq.ctl_notify, u, "system",
                                          {"after": True})
            await c2.expect_type("notification", 3, id=nid)
            self.assertLess(time.monotonic() - t0, 2.0)
        self.run_async(body(), limit=60)


if __name__ == "__main__":
    unittest.main()
