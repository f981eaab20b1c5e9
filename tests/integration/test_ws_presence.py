"""Presence that costs O(changes) (SPEC section 5, doc/protocol.md
"Presence"): a room with more members than ws.presence_batch_above gets
its presence changes in "presence" batches, every change exactly once, and
no user_status; a small room keeps one user_status per change; nobody is
told what their own snapshot already says (least of all about themselves).

The large room has presence_batch_above + 4 members besides its owner, all
connecting at once, spread over the nodes, so the changes reach a node
both from its own connections and through the queue from the others."""

import asyncio
import json
import unittest

import yq
import yq_rooms
from test_ws_common import (PRESENCE_GRACE_MS, WsTest, open_room,
                            ws_conf_int, ws_nodes)

BATCH_ABOVE = ws_conf_int("presence_batch_above", 50)


def is_presence(m):
    return m["type"] in ("presence", "user_status")


class LargeRoomPresenceTest(WsTest):

    limit = 180

    def assertBatch(self, m):
        self.assertEqual(m["type"], "presence",
                         "a large room got a user_status: %r" % (m,))
        p = m["payload"]
        self.assertEqual(set(p), {"online", "offline"}, p)
        self.assertIsInstance(p["online"], list)
        self.assertIsInstance(p["offline"], list)
        self.assertTrue(p["online"] or p["offline"], "an empty batch: %r" % p)
        for i in p["online"] + p["offline"]:
            self.assertIsInstance(i, int)
            self.assertNotIsInstance(i, bool)
        ids = p["online"] + p["offline"]
        self.assertEqual(len(ids), len(set(ids)),
                         "a user twice in one batch: %r" % p)
        return p

    def test_large_room_batches_every_change_once(self):
        n = BATCH_ABOVE + 4
        owner = yq.new_user()
        users = yq_rooms.in_parallel([yq.new_user] * n, timeout=150)
        names = {u.id: u.username for u in users}
        ids = set(names)
        room = self.create_room(owner, keep_chat_history=False,
                                max_members=n + 10)
        yq_rooms.in_parallel([lambda u=u: self.join(u, room) for u in users],
                             timeout=150)
        nodes = min(2, ws_nodes())

        async def body():
            obs, snap = await open_room(owner, room, node=1)
            self.assertEqual({m["id"] for m in snap["members"]},
                             ids | {owner.id})
            # everyone at once, alternately on each node
            conns = await asyncio.gather(*(
                open_room(u, room, node=1 + i % nodes)
                for i, u in enumerate(users)))

            # the owner learns each of them online, once, in batches
            seen = []
            while set(seen) != ids:
                m = await obs.expect(is_presence, 15,
                                     "presence (%d of %d seen)"
                                     % (len(set(seen)), n))
                p = self.assertBatch(m)
                self.assertEqual(p["offline"], [], "offline during the "
                                 "joins: %r" % p)
                for i in p["online"]:
                    self.assertIn(i, ids)
                    seen.append(i)
            self.assertEqual(len(seen), n, "someone announced twice: %r"
                             % sorted(seen))

            # every joiner: snapshot + batches = everyone online, nobody
            # twice, never itself
            for (c, s), u in zip(conns, users):
                online = {m["id"] for m in s["members"] if m["online"]}
                self.assertIn(u.id, online, "%s: not online in its own "
                              "snapshot" % c.label)
                self.assertIn(owner.id, online)
                while online != ids | {owner.id}:
                    m = await c.expect(is_presence, 15, "presence (%d of %d "
                                       "online)" % (len(online), n + 1))
                    p = self.assertBatch(m)
                    self.assertEqual(p["offline"], [], "%s: %r"
                                     % (c.label, p))
                    for i in p["online"]:
                        self.assertNotEqual(i, u.id, "%s was told "
                                            "about itself" % c.label)
                        self.assertNotIn(i, online,
                                         "%s: told again what it knew: %r"
                                         % (c.label, p))
                        online.add(i)
            # and nothing more comes about them afterwards
            late = await obs.collect(0.6, is_presence)
            for c, _ in conns:
                late += await c.collect(0, is_presence)
            self.assertEqual(late, [], "presence after everyone knew")

            # half of them leave: one offline each, after the grace
            gone = users[::2]
            gone_ids = {u.id for u in gone}
            await asyncio.gather(*(conns[i][0].close()
                                   for i in range(0, n, 2)))
            stay = [conns[i][0] for i in range(1, n, 2)]
            for c in [obs] + stay:
                off = []
                while set(off) != gone_ids:
                    m = await c.expect(
                        is_presence, PRESENCE_GRACE_MS / 1000.0 + 15,
                        "offline batches (%d of %d)"
                        % (len(set(off)), len(gone_ids)))
                    p = self.assertBatch(m)
                    self.assertEqual(p["online"], [], "%s: %r" % (c.label, p))
                    off += p["offline"]
                self.assertEqual(sorted(off), sorted(gone_ids),
                                 "%s: offline twice or wrong: %r"
                                 % (c.label, off))
        self.run_async(body())


class SmallRoomPresenceTest(WsTest):

    def test_small_room_keeps_user_status(self):
        owner, b = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)

        async def body():
            co, _ = await open_room(owner, room, node=1)
            cb, snap = await open_room(b, room, node=1)
            self.assertTrue(self.member_of(snap, b)["online"])
            st = await co.expect(is_presence, 5, "b's user_status")
            self.assertEqual(st["type"], "user_status")
            self.assertEqual(st["payload"], {"user_id": b.id,
                                             "username": b.username,
                                             "online": True})
            # b is not told about itself, nor about the owner (its
            # snapshot says so), and the owner hears of b only once
            await cb.ping()
            await co.ping()
            self.assertEqual(await cb.collect(0.5, is_presence), [])
            self.assertEqual(await co.collect(0, is_presence), [])
            await cb.close()
            st = await co.expect(is_presence,
                                 PRESENCE_GRACE_MS / 1000.0 + 5,
                                 "b's offline user_status")
            self.assertEqual(st["payload"], {"user_id": b.id,
                                             "username": b.username,
                                             "online": False})
        self.run_async(body())


class RemotePresenceRowsTest(WsTest):
    """The rows through which nodes tell each other their room presence
    (doc/protocol.md "Presence"): a node writes one row per room for the
    changes it took in one go, {"changes": [...]}, in order; a row of one
    change, as older nodes write it, is still read.  The rows here come
    from a node that does not exist, written straight into the queue."""

    limit = 60

    def queue_presence(self, room, payload):
        yq.sql("INSERT INTO event_queue (target_kind, target_id, type, "
               "payload, origin) VALUES ('room', %d, 'presence', %s, "
               "'test-old-node');" % (room["id"], yq.sql_quote(json.dumps(payload))))

    def test_one_change_rows_and_lists_are_both_read(self):
        owner, b, c = yq_rooms.new_users(3)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)
        self.join(c, room)

        def change(u, online):
            return {"user_id": u.id, "username": u.username, "online": online}

        async def body():
            co, _ = await open_room(owner, room, node=1)
            await asyncio.to_thread(self.queue_presence, room, change(b, True))
            st = await co.expect(is_presence, 10, "b online (a one-change row)")
            self.assertEqual(st["payload"], change(b, True))
            await asyncio.to_thread(self.queue_presence, room, {
                "changes": [change(c, True), change(b, False),
                            "not a change", {"user_id": "x"}]})
            got = [await co.expect(is_presence, 10, "a change of the list")
                   for _ in range(2)]
            self.assertEqual([m["payload"] for m in got],
                             [change(c, True), change(b, False)],
                             "a list's changes, in its order")
            await co.ping()
            self.assertEqual(await co.collect(0.5, is_presence), [],
                             "the list's malformed entries were not skipped")
        self.run_async(body())

if __name__ == "__main__":
    unittest.main()
