"""Notifications over WebSocket (SPEC sections 4 and 5): live push of
invitations (invite_notification) and everything else (notification),
unread ones at connect, replay after last_notification_id."""

import asyncio
import time
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (WsTest, first_seen, is_snapshot, open_room,
                            open_user, open_ws, room_path, ws_nodes)


def notifications(user):
    """{id: notification} of user (all statuses)."""
    r = yq.get("/notifications/?status=all&limit=100", token=user.access)
    assert r.status == 200, r
    return {n["id"]: n for n in r.json["items"]}


class LiveTest(WsTest):

    def test_invitation_is_pushed_within_a_second(self):
        owner = yq.new_user()
        targets = [None] + list(range(1, ws_nodes() + 1))

        async def body():
            for node in targets:
                with self.subTest(node=node or "front"):
                    u = await asyncio.to_thread(yq.new_user)
                    room = await asyncio.to_thread(self.create_room, owner)
                    c = await open_user(u, node=node)
                    t0 = time.monotonic()
                    r = await asyncio.to_thread(yq_rooms.r_invite, owner,
                                                room, u)
                    self.assertStatus(r, 201)
                    m = await c.expect_type("invite_notification", 3)
                    dt = time.monotonic() - t0
                    self.assertLess(dt, 1.0, "the invitation took %.2fs to "
                                    "arrive" % dt)
                    n = m["payload"]
                    self.assertNotification(n, "room_invite")
                    self.assertEqual(n["status"], "unread")
                    self.assertIsNone(n["read_at"])
                    ct = n["content"]
                    self.assertEqual(ct["room_id"], room["id"])
                    self.assertEqual(ct["room_name"], room["name"])
                    self.assertEqual(ct["invitation_id"], r.json["id"])
                    self.assertUserRef(ct["inviter"], owner)
                    stored = await asyncio.to_thread(notifications, u)
                    self.assertIn(n["id"], stored)
                    self.assertEqual(stored[n["id"]]["content"], ct)
                    self.assertEqual(stored[n["id"]]["created_at"],
                                     n["created_at"])
        self.run_async(body())

    def test_every_connection_of_the_user_gets_it(self):
        """Room connections carry the user channel too; every tab gets the
        notification once."""
        owner, u = yq_rooms.new_users(2)
        mine = self.create_room(u)
        other = self.create_room(owner)

        async def body():
            tabs = [await open_user(u), (await open_room(u, mine))[0],
                    (await open_room(u, mine, node=1))[0]]
            r = await asyncio.to_thread(yq_rooms.r_invite, owner, other, u)
            self.assertStatus(r, 201)
            for c in tabs:
                m = await c.expect_type("invite_notification", 3)
                self.assertEqual(m["payload"]["content"]["invitation_id"],
                                 r.json["id"])
                more = await c.collect(0.3, lambda m: m["type"] in (
                    "invite_notification", "notification"))
                self.assertEqual(more, [], "%s got it twice" % c.label)
        self.run_async(body())

    def test_other_types_arrive_as_notification(self):
        owner, u = yq_rooms.new_users(2)
        room = self.create_room(owner, require_approval=True)

        async def body():
            co = await open_user(owner)
            cu = await open_user(u)
            nid = await asyncio.to_thread(yq.ctl_notify, u, "system",
                                          {"n": 1, "text": "hello"})
            m = await cu.expect_type("notification", 3, id=nid)
            self.assertNotification(m["payload"], "system")
            self.assertEqual(m["payload"]["content"],
                             {"n": 1, "text": "hello"})
            # an application and its approval
            app = await asyncio.to_thread(self.apply, u, room, "let me in")
            m = await co.expect_type("notification", 3,
                                     type="room_application")
            self.assertEqual(m["payload"]["content"]["room_id"], room["id"])
            r = await asyncio.to_thread(yq_rooms.r_approve, owner, room,
                                        app["id"])
            self.assertStatus(r, 200)
            m = await cu.expect_type("notification", 3,
                                     type="application_approved")
            self.assertEqual(m["payload"]["content"]["room_id"], room["id"])
            # invite_notification is for room_invite only
            self.assertEqual([x for x in cu.pending + co.pending
                              if x["type"] == "invite_notification"], [])
        self.run_async(body())

    def test_kind_follows_the_notification_type_not_its_content(self):
        """A system notification whose content happens to hold
        "type": "room_invite" is still a "notification" (the replay at
        connect and the live push must agree)."""
        u = yq.new_user()
        content = '{"type": "room_invite", "note": "not an invitation"}'

        async def body():
            c = await open_user(u)
            nid = await asyncio.to_thread(yq.ctl_notify, u, "system",
                                          content)
            live = await c.expect(lambda m: m.get("payload", {}).get("id")
                                  == nid, 3, "notification %d" % nid)
            replay = await open_ws("/ws", u)
            first = await replay.expect(lambda m: m.get("payload", {})
                                        .get("id") == nid, 3, "the replay")
            self.assertEqual(first["type"], "notification")
            self.assertEqual(live["type"], "notification",
                             "the live push labels a system notification "
                             "by its content: %r" % (live,))
        self.run_async(body())


class ReplayTest(WsTest):

    def assertNoOthers(self, extra, want):
        """Only repeats (at-least-once) of the ids in want, if anything."""
        self.assertEqual([m["payload"]["id"] for m in extra
                          if m["payload"]["id"] not in want], [],
                         "unexpected notifications: %r" % (extra,))

    def make(self, user, n):
        return [yq.ctl_notify(user, "system", {"i": i}) for i in range(n)]

    def test_unread_at_connect(self):
        owner, u = yq_rooms.new_users(2)
        room = self.create_room(owner)
        self.join(u, room)
        ids = self.make(u, 4)
        self.assertStatus(yq.put("/notifications/%d/read" % ids[1],
                                 token=u.access), 200)
        self.assertStatus(yq.delete("/notifications/%d" % ids[2],
                                    token=u.access), 204)
        want = [ids[0], ids[3]]
        is_n = (lambda m: m["type"] in ("notification",
                                        "invite_notification"))

        async def body():
            # /ws: the unread ones, oldest first
            c = await open_ws("/ws", u)
            got = [await c.expect(is_n, 3, "notification %d" % i)
                   for i in want]
            self.assertEqual([m["payload"]["id"] for m in got], want)
            for m in got:
                self.assertNotification(m["payload"], "system")
                self.assertEqual(m["payload"]["status"], "unread")
            self.assertNoOthers(await c.collect(0.5, is_n), want)
            # a room: the snapshot first, then the unread ones
            c, _ = await open_room(u, room)
            got = [await c.expect(is_n, 3) for _ in want]
            self.assertEqual([m["payload"]["id"] for m in got], want)
            self.assertNoOthers(await c.collect(0.5, is_n), want)
            # with ?last_notification_id= not a number: as if absent
            c, _ = await open_room(u, room,
                                   query={"last_notification_id": "abc"})
            got = [await c.expect(is_n, 3) for _ in want]
            self.assertEqual([m["payload"]["id"] for m in got], want)
        self.run_async(body())

    def test_last_notification_id(self):
        """With last_notification_id=N: every undeleted notification after
        N (read or not) comes first, then the snapshot."""
        owner, u = yq_rooms.new_users(2)
        room = self.create_room(owner)
        self.join(u, room)
        ids = self.make(u, 5)
        self.assertStatus(yq.put("/notifications/%d/read" % ids[2],
                                 token=u.access), 200)
        self.assertStatus(yq.delete("/notifications/%d" % ids[3],
                                    token=u.access), 204)
        after = [ids[1], ids[2], ids[4]]

        async def read_until_snapshot(c):
            out = []
            while True:
                m = await c.expect(lambda m: True, 5, "the snapshot")
                if is_snapshot(m):
                    return out
                out.append(m)

        async def body():
            for path in (room_path(room), "/ws"):
                for last, want in ((ids[0], after), (0, [ids[0]] + after),
                                   (ids[4], []), (2 ** 62, [])):
                    with self.subTest(path=path, last=last):
                        c = await open_ws(path, u, query={
                            "last_notification_id": str(last)})
                        if path == "/ws":
                            await c.ready()
                            got = first_seen(
                                [m for m in c.pending if m["type"] in
                                 ("notification", "invite_notification")])
                        else:
                            got = first_seen(await read_until_snapshot(c))
                        self.assertEqual([m["payload"]["id"] for m in got],
                                         want, "%r" % (got,))
                        for m in got:
                            self.assertEqual(m["type"], "notification")
                            self.assertNotification(m["payload"], "system")
                        if path != "/ws":
                            self.assertNoOthers(
                                [m for m in await c.collect(0.3) if m["type"]
                                 in ("notification", "invite_notification")],
                                want)
                        await c.close()
        self.run_async(body())

    def test_missed_while_disconnected(self):
        """Connected, then away: on reconnect with the last id seen, the
        client gets exactly what it missed."""
        u = yq.new_user()

        async def body():
            c = await open_user(u)
            n0 = await asyncio.to_thread(yq.ctl_notify, u, "system",
                                         {"first": True})
            m = await c.expect_type("notification", 3, id=n0)
            await c.close()
            missed = []
            for i in range(5):
                missed.append(await asyncio.to_thread(
                    yq.ctl_notify, u, "system", {"i": i}))
            c = await open_ws("/ws", u, query={"last_notification_id":
                                               str(m["payload"]["id"])})
            await c.ready()
            got = [x["payload"]["id"] for x in first_seen(
                [x for x in c.pending if x["type"] == "notification"])]
            self.assertEqual(got, missed)
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
