"""The room snapshot of a large room, as the daemon builds it from one
shared rendering of the member list (doc/design.md, "Snapshots"): every
joiner's snapshot says what a rendering made for it alone would say, while
members come online, change role and leave in between; a snapshot larger
than one write goes out in fragments and arrives whole.
"""

import asyncio
import json

import yq
import yq_rooms
from test_ws_common import SNAPSHOT_MEMBERS, SNAPSHOT_PARTIAL, WsTest, open_room

MEMBERS = 70            # more than the 64 online values a shared rendering may differ by
AVATAR = "https://avatars.example/%s/" + "a" * 300 + ".png"   # ~380 bytes a member


class SharedSnapshotTest(WsTest):

    def setUp(self):
        super().setUp()
        self.owner = yq.new_user()
        self.room = self.create_room(self.owner, max_members=MEMBERS + 10)
        self.users = [yq.new_user() for _ in range(MEMBERS - 1)]
        for u in self.users:
            self.join(u, self.room)
        # long avatars: the snapshot is far beyond one 16 KiB fragment
        yq.sql("UPDATE users SET avatar_url = CONCAT('https://avatars.example/', "
               "username, '/', REPEAT('a', 300), '.png') WHERE id IN (%s);"
               % ",".join(str(u.id) for u in [self.owner] + self.users))

    def check(self, snap, me, online, roles):
        """The members of snap: everyone in the room, in REST's order,
        with their avatar and role, online exactly when in `online` (me
        always)."""
        self.assertSnapshot(snap, self.room)
        # owner, moderators, members, each in the order they joined
        # (doc/protocol.md); REST (by id, paged) lists the same people
        gone = getattr(self, "users_left", None)
        stay = [u for u in self.users if u is not gone]
        want = [self.owner.id] + \
            [u.id for u in stay if roles.get(u.id) == "moderator"] + \
            [u.id for u in stay if roles.get(u.id, "member") == "member"]
        self.assertEqual([m["id"] for m in snap["members"]], want)
        rest = [m["id"] for m in self.members(self.owner, self.room)]
        self.assertTrue(set(rest) <= set(want), "%r" % (rest,))
        by_id = {u.id: u for u in [self.owner] + self.users}
        for m in snap["members"]:
            u = by_id[m["id"]]
            self.assertEqual(m["username"], u.username)
            self.assertEqual(m["avatar_url"], AVATAR % u.username)
            self.assertEqual(m["role"], roles.get(u.id, "member"), "%r" % (m,))
            self.assertEqual(m["online"], u.id in online or u.id == me.id,
                             "%s in %s's snapshot: %r" % (u.username, me.username, m))

    def test_joiners_one_after_another(self):
        async def body():
            roles = {self.owner.id: "owner"}
            online = set()
            clients = []
            c, snap = await open_room(self.owner, self.room, node=1)
            clients.append(c)
            self.check(snap, self.owner, online, roles)
            self.assertGreater(len(json.dumps(snap)), 16384)  # more than one fragment
            online.add(self.owner.id)
            for i, u in enumerate(self.users):
                if i == 30:      # a role change: the list is rendered again
                    self.set_role(self.owner, self.room, self.users[3], "moderator")
                    roles[self.users[3].id] = "moderator"
                    await clients[0].expect_event("role_changed")
                if i == 50:      # a leave: likewise
                    leaver = self.users[5]
                    r = yq_rooms.r_leave(leaver, self.room)
                    self.assertEqual(r.status, 204, "%r" % (r,))
                    await clients[0].expect_event("member_left")
                    online.discard(leaver.id)
                    self.users_left = leaver
                if getattr(self, "users_left", None) is u:
                    continue
                c, snap = await open_room(u, self.room, node=1)
                clients.append(c)
                if getattr(self, "users_left", None):
                    self.assertNotIn(self.users_left.id, [m["id"] for m in snap["members"]])
                self.check(snap, u, online, roles)
                online.add(u.id)
        self.run_async(body(), limit=120)

    def test_a_storm_of_joiners(self):
        """Everyone at once: each snapshot is whole and valid, says its
        reader is online and is consistent with the room's list; a member
        connected before the storm is online in every one of them."""
        async def body():
            first, _ = await open_room(self.owner, self.room, node=1)
            got = await asyncio.gather(*(open_room(u, self.room, node=1)
                                         for u in self.users))
            for u, (c, snap) in zip(self.users, got):
                self.assertSnapshot(snap, self.room)
                self.assertEqual(len(snap["members"]), MEMBERS)
                mine = [m for m in snap["members"] if m["id"] == u.id]
                self.assertEqual(len(mine), 1)
                self.assertTrue(mine[0]["online"])
                own = [m for m in snap["members"] if m["id"] == self.owner.id]
                self.assertTrue(own[0]["online"], "the owner in %s's snapshot" % u.username)
                for m in snap["members"]:
                    self.assertEqual(m["avatar_url"], AVATAR % m["username"])
            # afterwards everyone is online in a fresh snapshot
            late = yq.new_user()
            self.join(late, self.room)
            _, snap = await open_room(late, self.room, node=1)
            off = [m["username"] for m in snap["members"] if not m["online"]]
            self.assertEqual(off, [])
        self.run_async(body(), limit=120)


class PartialSnapshotTest(WsTest):
    """A room of more than ws.snapshot_members members: the snapshot lists
    ws.snapshot_partial_members of them, the owner and moderators first,
    then its reader, then whoever else is online, then the others, each in
    the order they joined; it says how many there are and how many are
    online (doc/protocol.md, "Large rooms")."""

    def test_large_room_snapshot_is_cut_online_first(self):
        if not SNAPSHOT_MEMBERS:
            self.skipTest("ws.snapshot_members = 0: snapshots list everyone")
        n = SNAPSHOT_MEMBERS + 5
        owner = yq.new_user()
        # by id, joined in that order: the list's order (joined_at, then id)
        users = sorted(yq_rooms.in_parallel([yq.new_user] * n, timeout=150),
                       key=lambda u: u.id)
        room = self.create_room(owner, keep_chat_history=False, max_members=n + 10)
        for u in users:
            self.join(u, room)
        mod = users[-1]          # the last to join, made moderator
        self.set_role(owner, room, mod, "moderator")
        online = users[-8:-3]    # late joiners, online before the reader
        reader = users[-2]

        async def body():
            conns = [await open_room(owner, room, node=1)]
            for u in online:
                conns.append(await open_room(u, room, node=1))
            # every connection so far knows about all of them
            c, snap = await open_room(reader, room, node=1)
            self.assertSnapshot(snap, room)
            self.assertTrue(snap["members_partial"])
            self.assertEqual(snap["members_total"], n + 1)
            self.assertEqual(snap["members_online"], len(online) + 2)
            # the reader joined after the others online, and comes before them
            want_online = [u.id for u in users[:-1] if u in online]
            offline = [u.id for u in users[:-1] if u.id not in want_online and u is not reader]
            want = [owner.id, mod.id, reader.id] + want_online + offline
            got = [m["id"] for m in snap["members"]]
            self.assertEqual(got, want[:SNAPSHOT_PARTIAL])
            flags = {m["id"]: (m["role"], m["online"]) for m in snap["members"]}
            self.assertEqual(flags[owner.id], ("owner", True))
            self.assertEqual(flags[mod.id], ("moderator", False))
            for u in ([reader] + online)[:max(0, SNAPSHOT_PARTIAL - 2)]:
                self.assertEqual(flags[u.id], ("member", True), u.username)
            self.assertFalse(any(flags[i][1] for i in offline if i in flags))
            for x, _ in conns + [(c, None)]:
                await x.close()
        self.run_async(body(), limit=150)
