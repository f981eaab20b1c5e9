"""Several ws nodes serving one room (SPEC section 5, last point): room
traffic reaches members on another node through the queue, in order;
playback state stays one state; presence is per user, not per node.

Each client connects to a chosen node directly (ws://127.0.0.1:<WS_PORT +
i - 1>).  Skipped when the stack runs a single node."""

import asyncio
import time
import unittest

import yq
import yq_rooms
from test_ws_common import (BURST, PLAYBACK_SAVE_MS, PRESENCE_GRACE_MS,
                            RATE_PER_S, WsTest, open_room)

URL = "https://media.example.com/multi.mp4"


async def send_paced(client, texts, prefix="n"):
    """Chat messages within the rate limit: the burst, then at ws.rate."""
    for i, t in enumerate(texts):
        if i >= BURST - 2:
            await asyncio.sleep(1.15 / RATE_PER_S)
        await client.send("chat_message", {"text": t}, id="%s%d" % (prefix, i))


class MultiNodeTest(WsTest):

    def setUp(self):
        self.need_nodes(2)

    def test_chat_in_order_across_nodes(self):
        a, b = yq_rooms.new_users(2)
        rooms = {"history": self.create_room(a),
                 "no history": self.create_room(a, keep_chat_history=False)}
        for room in rooms.values():
            self.join(b, room)

        async def body():
            for name, room in rooms.items():
                with self.subTest(name):
                    ca, _ = await open_room(a, room, node=1)
                    cb, _ = await open_room(b, room, node=2)
                    texts = ["#%02d from a" % i for i in range(50)]
                    sender = asyncio.ensure_future(send_paced(ca, texts))
                    got = []
                    while len(got) < 50:
                        m = await cb.expect_type("chat_message", 10)
                        got.append(m)
                    await sender
                    self.assertEqual([m["payload"]["text"] for m in got],
                                     texts, "node 2 got them out of order")
                    self.assertEqual([m["payload"]["user_id"] for m in got],
                                     [a.id] * 50)
                    ids = [m["payload"]["id"] for m in got]
                    self.assertEqual(ids, sorted(set(ids)))
                    # and the sender's own copies agree
                    for i, m in enumerate(got):
                        mine = await ca.expect_ref("n%d" % i)
                        self.assertEqual(mine["payload"], m["payload"])
                    # the other way round
                    back = ["#%02d from b" % i for i in range(15)]
                    await send_paced(cb, back, "b")
                    got = [await ca.expect_type("chat_message", 5)
                           for _ in back]
                    self.assertEqual([m["payload"]["text"] for m in got],
                                     back)
                    # ids identify messages whichever node numbered them
                    # (unstored ones come from each node's own block)
                    back_ids = [m["payload"]["id"] for m in got]
                    self.assertEqual(len(set(back_ids)), len(back_ids))
                    self.assertEqual(set(ids) & set(back_ids), set(),
                                     "two nodes gave out the same chat id")
                    more = await cb.collect(0.5, lambda m: m["type"] ==
                                            "chat_message" and "ref" not in m)
                    self.assertEqual(more, [], "duplicates on node 2")
                    await ca.close()
                    await cb.close()
        self.run_async(body())

    def test_playback_and_custom_events_across_nodes(self):
        a, b = yq_rooms.new_users(2)
        room = self.create_room(a)
        self.add_member(a, room, b, "moderator")

        async def body():
            ca, snap = await open_room(a, room, node=1)
            cb, _ = await open_room(b, room, node=2)
            v0 = snap["playback"]["version"]
            await ca.ok("play_control", {"action": "load", "media_url": URL})
            for i in range(10):
                await ca.send("play_control", {"action": "seek",
                                               "position_ms": 1000 * i})
            seen = [await cb.expect_type("play_control", 5)
                    for _ in range(11)]
            versions = [m["payload"]["version"] for m in seen]
            self.assertEqual(versions, list(range(v0 + 1, v0 + 12)),
                             "versions seen on node 2")
            self.assertEqual(seen[-1]["payload"]["position_ms"], 9000)
            self.assertEqual(seen[0]["payload"]["media_url"], URL)
            # custom events, both ways
            await ca.ok("custom_event", {"name": "hello", "data": {"x": [1]}})
            m = await cb.expect_type("custom_event", 5, name="hello")
            self.assertEqual(m["payload"]["data"], {"x": [1]})
            self.assertEqual(m["payload"]["by"]["id"], a.id)
            await cb.ok("custom_event", {"name": "hi", "data": "back"})
            m = await ca.expect_type("custom_event", 5, name="hi")
            self.assertEqual(m["payload"]["by"]["id"], b.id)
            # control from node 2 continues the same version line
            mine = await cb.ok("play_control", {"action": "play",
                                                "position_ms": 20000})
            self.assertEqual(mine["payload"]["version"], v0 + 12)
            m = await ca.expect_type("play_control", 5, version=v0 + 12)
            self.assertEqual(m["payload"]["position_ms"], 20000)
            # progress_sync too
            await ca.ok("progress_sync", {"position_ms": 30000,
                                          "state": "paused"})
            m = await cb.expect_type("progress_sync", 5, version=v0 + 13)
            self.assertEqual(m["payload"]["position_ms"], 30000)
            # both nodes now hand newcomers the same state
            for node in (1, 2):
                _, s = await open_room(b, room, node=node)
                pb = s["playback"]
                self.assertEqual((pb["version"], pb["position_ms"],
                                  pb["state"], pb["media_url"]),
                                 (v0 + 13, 30000, "paused", URL),
                                 "node %d" % node)
        self.run_async(body())

    def test_newcomer_on_another_node_gets_the_current_playback(self):
        """A member who joins on a node where the room is not live yet must
        get the state as last set, also right after a change (the owning
        node persists playback only every ws.playback_save_ms)."""
        a, b = yq_rooms.new_users(2)
        room = self.create_room(a)
        self.join(b, room)

        async def body():
            ca, _ = await open_room(a, room, node=1)
            await ca.ok("play_control", {"action": "load", "media_url": URL})
            last = await ca.ok("play_control", {"action": "pause",
                                                "position_ms": 4242})
            v = last["payload"]["version"]
            with self.subTest("right after the change"):
                early, s = await open_room(b, room, node=2)
                pb = s["playback"]
                self.assertEqual((pb["version"], pb["position_ms"],
                                  pb["media_url"]), (v, 4242, URL),
                                 "node 2's snapshot %r, last set version "
                                 "%d" % (pb, v))
            # node 2 forgets the room once nobody is in it (after the
            # presence grace); then it must read what node 1 persisted
            await early.close()
            await asyncio.sleep(max(PLAYBACK_SAVE_MS / 1000.0,
                                    PRESENCE_GRACE_MS / 1000.0) + 0.7)
            with self.subTest("after the save interval"):
                c, s = await open_room(b, room, node=2)
                pb = s["playback"]
                self.assertEqual((pb["version"], pb["position_ms"],
                                  pb["media_url"]), (v, 4242, URL), "%r" % pb)
        self.run_async(body())

    def test_control_from_two_nodes_keeps_one_state(self):
        """The owner seeks on node 1; a moderator who has just arrived on
        node 2 seeks after that.  The last action wins on both nodes and in
        what newcomers are told."""
        a, b, c = yq_rooms.new_users(3)
        room = self.create_room(a)
        self.add_member(a, room, b, "moderator")
        self.join(c, room)

        async def body():
            ca, _ = await open_room(a, room, node=1)
            await ca.ok("play_control", {"action": "load", "media_url": URL})
            await ca.ok("play_control", {"action": "seek",
                                         "position_ms": 1000})
            await ca.ok("play_control", {"action": "seek",
                                         "position_ms": 2000})
            cb, _ = await open_room(b, room, node=2)
            mine = await cb.ok("play_control", {"action": "seek",
                                                "position_ms": 99000})
            # node 1's members see it
            m = await ca.expect(lambda m: m["type"] == "play_control" and
                                m["payload"]["position_ms"] == 99000, 5,
                                "b's seek on node 1")
            self.assertEqual(m["payload"]["by"]["id"], b.id)
            versions = {mine["payload"]["version"]}
            await asyncio.sleep(PLAYBACK_SAVE_MS / 1000.0 + 0.7)
            for node in (1, 2):
                with self.subTest(node=node):
                    _, s = await open_room(c, room, node=node)
                    pb = s["playback"]
                    self.assertEqual(pb["position_ms"], 99000,
                                     "node %d tells newcomers %r; the last "
                                     "action was b's seek to 99000 "
                                     "(version %s)" % (node, pb, versions))
            # and the next action from node 1 builds on b's seek
            nxt = await ca.ok("play_control", {"action": "rate",
                                               "rate": 1.25})
            self.assertEqual(nxt["payload"]["position_ms"], 99000,
                             "a rate change on node 1 (no position_ms) "
                             "continued from %r"
                             % (nxt["payload"],))
            self.assertGreater(nxt["payload"]["version"],
                               mine["payload"]["version"])
        self.run_async(body())

    def test_room_events_reach_both_nodes(self):
        a, b = yq_rooms.new_users(2)
        room = self.create_room(a)
        self.join(b, room)

        async def body():
            b1, _ = await open_room(b, room, node=1)
            b2, _ = await open_room(b, room, node=2)
            a2, _ = await open_room(a, room, node=2)
            r = await asyncio.to_thread(yq_rooms.r_config, a, room,
                                        {"guest_control": True})
            self.assertStatus(r, 200)
            for c in (b1, b2, a2):
                await c.expect_event("config_updated")
            await b1.ok("play_control", {"action": "seek",
                                         "position_ms": 5})
            await b2.ok("play_control", {"action": "seek",
                                         "position_ms": 6})
            r = await asyncio.to_thread(yq_rooms.r_kick, a, room, b)
            self.assertStatus(r, 204)
            for c in (b1, b2):
                await c.expect_event("member_kicked")
                code, _ = await c.closed()
                self.assertEqual(code, 4403, c.label)
            await a2.expect_event("member_kicked")
            await a2.ping()
        self.run_async(body())


class MultiNodePresenceTest(WsTest):
    """SPEC: a user is online while they hold at least one connection on
    any node; user_status goes out when that changes, not on every tab."""

    grace = PRESENCE_GRACE_MS / 1000.0

    def setUp(self):
        self.need_nodes(2)

    def test_presence_is_per_user_not_per_node(self):
        a, b = yq_rooms.new_users(2)
        room = self.create_room(a)
        self.join(b, room)
        is_b = (lambda m: m["type"] == "user_status" and
                m["payload"]["user_id"] == b.id)

        async def body():
            ca, _ = await open_room(a, room, node=1)
            b2, _ = await open_room(b, room, node=2)
            st = await ca.expect(is_b, 3, "b online (from node 2)")
            self.assertTrue(st["payload"]["online"])
            with self.subTest("a second tab on the other node"):
                b1, _ = await open_room(b, room, node=1)
                extra = await ca.collect(0.7, is_b)
                self.assertEqual(extra, [], "b's second connection (another "
                                 "node) announced b again")
            with self.subTest("closing one of the two"):
                await b2.close()
                flaps = await ca.collect(self.grace + 1.0, is_b)
                self.assertEqual([m["payload"]["online"] for m in flaps], [],
                                 "b still holds a connection on node 1")
                r = await asyncio.to_thread(yq.get, "/users/%d" % b.id,
                                            token=a.access)
                self.assertTrue(r.json["online"])
            with self.subTest("closing the last one"):
                t0 = time.monotonic()
                await b1.close()
                # whatever came before, the last word is offline
                deadline = self.grace + 3
                last = None
                while time.monotonic() - t0 < deadline:
                    got = await ca.collect(0.3, is_b)
                    if got:
                        last = got[-1]
                    if last is not None and not last["payload"]["online"]:
                        break
                self.assertIsNotNone(last, "no offline for b")
                self.assertFalse(last["payload"]["online"])
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
