"""WebSocket endpoints and authentication (SPEC section 5).

/ws and /ws/rooms/{id}; credentials by ?ticket= (single use, 30 s),
?token= or Authorization: Bearer; refusals (error + 4401/4403/4404); the
Origin allow-list; unknown paths.  Refused handshakes are tried on the
nodes directly and through the front end (which must keep serving everyone
else afterwards).
"""

import asyncio
import time
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (WsTest, allowed_origins, is_snapshot, jwt_key,
                            open_room,
                            open_user, open_ws, room_path, ws_nodes,
                            ws_ticket)


class CredentialsTest(WsTest):

    def test_ticket(self):
        """A ticket opens /ws and a room once; a second use is refused with
        an error and 4401."""
        owner = yq.new_user()
        room = self.create_room(owner)

        async def body():
            t = await asyncio.to_thread(ws_ticket, owner)
            c = await open_ws("/ws", owner, auth="ticket", ticket=t)
            await c.ready()
            again = await open_ws("/ws", owner, auth="ticket", ticket=t)
            await self.assertRefusal(again, 4401, "forbidden")
            # a room, with a fresh ticket; the snapshot says who we are
            c2, snap = await open_room(owner, room, auth="ticket")
            self.assertSnapshot(snap, room, "owner")
            t2 = await asyncio.to_thread(ws_ticket, owner)
            c3, _ = await open_room(owner, room, auth="ticket", ticket=t2)
            again = await open_ws(room_path(room), owner, auth="ticket",
                                  ticket=t2)
            await self.assertRefusal(again, 4401, "forbidden")
            # the first connections are unaffected
            await c.ping()
            await c2.ping()
            await c3.ping()
        self.run_async(body())

    def test_expired_and_unknown_tickets(self):
        u = yq.new_user()
        t = ws_ticket(u)
        # age it past its 30 s as root: it is the user's only ticket
        yq.sql("UPDATE ws_tickets SET expires_at = NOW() - INTERVAL 1 SECOND "
               "WHERE user_id = %d;" % u.id)

        async def body():
            for ticket in (t, "x" * 43, "", "garbage"):
                with self.subTest(ticket=ticket[:10]):
                    c = await open_ws("/ws", u, auth="ticket", ticket=ticket)
                    await self.assertRefusal(c, 4401, "forbidden")
        self.run_async(body())

    def test_token_and_bearer_header_on_every_node(self):
        """?token= and Authorization: Bearer work through the front end
        and on each node directly."""
        owner = yq.new_user()
        room = self.create_room(owner)

        async def body():
            for node in [None] + list(range(1, ws_nodes() + 1)):
                for auth in ("token", "header"):
                    with self.subTest(node=node, auth=auth):
                        c, snap = await open_room(owner, room, node=node,
                                                  auth=auth)
                        self.assertSnapshot(snap, room, "owner")
                        u = await open_user(owner, node=node, auth=auth)
                        await u.ping()
                        await c.close()
                        await u.close()
        self.run_async(body())

    def test_bad_credentials_are_4401(self):
        u = yq.new_user()
        room = self.create_room(u)
        hdr, claims, _ = yq.jwt_parts(u.access)
        now = int(time.time())
        key = jwt_key().encode()
        self.assertGreaterEqual(len(key), 32, "no [auth] jwt_key in YQ_CONF")
        expired = dict(claims, iat=now - 1000, exp=now - 10)
        forged = {
            "garbage": "garbage",
            "empty": "",
            "refresh token": u.refresh,
            "expired (real key)": yq.jwt_sign_hs256(hdr, expired, key),
            "wrong key": yq.jwt_sign_hs256(hdr, claims,
                                           b"k" * 48),
            "alg none": yq.jwt_encode(dict(hdr, alg="none"), claims),
            "truncated": u.access[:-3],
        }

        async def body():
            for name, tok in forged.items():
                for path in ("/ws", room_path(room)):
                    with self.subTest(token=name, path=path):
                        c = await open_ws(path, auth=None,
                                          query={"token": tok})
                        await self.assertRefusal(c, 4401, "forbidden")
                    with self.subTest(header=name, path=path):
                        c = await open_ws(path, auth=None, headers={
                            "Authorization": "Bearer " + tok})
                        await self.assertRefusal(c, 4401, "forbidden")
            for path in ("/ws", room_path(room)):
                with self.subTest(credentials="none", path=path):
                    c = await open_ws(path, auth=None)
                    await self.assertRefusal(c, 4401, "forbidden")
            # the real token still works
            c, _ = await open_room(u, room)
            await c.ping()
        self.run_async(body())

    def test_password_change_revokes_ws_access(self):
        """A password change bumps the token version: the old access token
        no longer opens a connection; the new one does."""
        u = yq.new_user()
        old = u.access
        new_pw = yq.rand_password()
        r = yq.put("/users/me", {"password": new_pw,
                                 "current_password": u.password},
                   token=old)
        self.assertStatus(r, 200)
        r = yq.login(u.username, new_pw)
        self.assertStatus(r, 200)
        new = r.json["access_token"]

        async def body():
            c = await open_ws("/ws", auth=None, query={"token": old})
            await self.assertRefusal(c, 4401, "forbidden")
            c = await open_ws("/ws", auth=None, query={"token": new})
            await c.ready()
        self.run_async(body())

    def test_password_change_ends_tickets_and_open_sockets(self):
        """Issue 11, defect 7: a ticket obtained before a password change
        no longer authenticates, and every open socket of the user (user
        channel and room, on each node) is closed with 4401; another
        user's sockets stay open."""
        u, other = yq_rooms.new_users(2)
        room = self.create_room(u)
        self.join(other, room)

        async def body():
            held = []
            for node in range(1, ws_nodes() + 1):
                c = await open_ws("/ws", u, node=node)
                await c.ready()
                r, _ = await open_room(u, room, node=node)
                held += [c, r]
            o, _ = await open_room(other, room, node=1)
            early = [ws_ticket(u), ws_ticket(u)]
            new_pw = yq.rand_password()
            r = await asyncio.to_thread(
                yq.put, "/users/me", {"password": new_pw,
                                      "current_password": u.password},
                token=u.access)
            self.assertStatus(r, 200)
            for c in held:
                await self.assertRefusal(c, 4401, "forbidden", timeout=10)
            for t in early:
                c = await open_ws("/ws", auth="ticket", ticket=t)
                await self.assertRefusal(c, 4401, "forbidden")
            await o.ping()
            # the new password's session gets in, by token and by ticket
            r = await asyncio.to_thread(yq.login, u.username, new_pw)
            self.assertStatus(r, 200)
            u.access = r.json["access_token"]
            c = await open_ws("/ws", u)
            await c.ready()
            c = await open_ws("/ws", u, auth="ticket")
            await c.ready()
        self.run_async(body())


class MembershipTest(WsTest):

    def test_refusals_by_membership(self):
        owner, stranger, invited, leaver = yq_rooms.new_users(4)
        public = self.create_room(owner)
        approval = self.create_room(owner, require_approval=True)
        private = self.create_room(owner, is_public=False)
        gone = self.create_room(owner)
        self.join(leaver, public)
        r = yq_rooms.r_leave(leaver, public)
        self.assertStatus(r, 204)
        self.assertStatus(yq_rooms.r_dissolve(owner, gone), 204)
        unknown = {"id": 2 ** 53}

        cases = [
            ("public, not a member", stranger, public, 4403, "forbidden"),
            ("approval needed, not a member", stranger, approval, 4403,
             "forbidden"),
            ("left the room", leaver, public, 4403, "forbidden"),
            ("private room of others", stranger, private, 4404, "not_found"),
            ("no such room", stranger, unknown, 4404, "not_found"),
            ("dissolved (owner)", owner, gone, 4404, "not_found"),
            ("dissolved (stranger)", stranger, gone, 4404, "not_found"),
        ]

        async def body():
            for name, user, room, close, code in cases:
                with self.subTest(name):
                    c = await open_ws(room_path(room), user)
                    await self.assertRefusal(c, close, code)
            # the refused users are still fine on /ws
            c = await open_user(stranger)
            await c.ping()
        self.run_async(body())

    def test_invitee_of_private_room_is_not_a_member(self):
        """An invitee sees the private room (GET /rooms/{id} -> my_role
        invited), so the room exists for them: not being a member yet is
        4403 ("not a member"), not 4404 ("no such room")."""
        owner, invitee = yq_rooms.new_users(2)
        private = self.create_room(owner, is_public=False)
        self.invite(owner, private, invitee)
        self.assertEqual(self.get_room(invitee, private)["my_role"],
                         "invited")

        async def body():
            c = await open_ws(room_path(private), invitee)
            await self.assertRefusal(c, 4403, "forbidden")
        self.run_async(body())

    def test_member_gets_in_after_joining(self):
        owner, u = yq_rooms.new_users(2)
        room = self.create_room(owner)

        async def body():
            c = await open_ws(room_path(room), u)
            await self.assertRefusal(c, 4403, "forbidden")
            await asyncio.to_thread(self.join, u, room)
            c, snap = await open_room(u, room)
            self.assertSnapshot(snap, room, "member")
        self.run_async(body())


class ConcurrentConnectsTest(WsTest):
    """Connects that arrive together are answered together (one batch of
    statements for all of them, doc/design.md): each still gets exactly its
    own verdict, its own role and its own notifications."""

    def test_each_connect_gets_its_own_verdict(self):
        owner, stranger, revoked, noted, tabs = yq_rooms.new_users(5)
        members = yq_rooms.new_users(8)
        room = self.create_room(owner)
        other = self.create_room(stranger)
        for u in members + [revoked, noted, tabs]:
            self.join(u, room)
        self.set_role(owner, room, members[0], "moderator")
        # a token whose version is no longer the user's
        yq.sql("UPDATE users SET token_version = token_version + 1 "
               "WHERE id = %d;" % revoked.id)
        mine = [yq.ctl_notify(noted, "system", {"i": i}) for i in range(3)]
        theirs = yq.ctl_notify(members[4], "system", {"for": "someone else"})
        spent = ws_ticket(members[2])

        async def body():
            c = await open_ws("/ws", members[2], auth="ticket", ticket=spent)
            await c.ready()
            for rnd in range(4):
                fresh = await asyncio.to_thread(ws_ticket, members[3])
                plan = [(u, room, "token", "member") for u in members[4:]]
                plan += [
                    (owner, room, "token", "owner"),
                    (members[0], room, "token", "moderator"),
                    (members[3], room, ("ticket", fresh), "member"),
                    (members[2], room, ("ticket", spent), 4401),
                    (stranger, room, "token", 4403),
                    (stranger, other, "token", "owner"),
                    (revoked, room, "token", 4401),
                    (noted, room, "token", "member"),
                    (tabs, room, "token", "member"),
                    (tabs, room, "token", "member"),
                    (members[1], {"id": 2 ** 53}, "token", 4404),
                ]

                async def one(user, rm, auth, want):
                    kw = {"auth": auth} if isinstance(auth, str) else \
                        {"auth": auth[0], "ticket": auth[1]}
                    cl = await open_ws(room_path(rm), user, node=1, **kw)
                    if isinstance(want, int):
                        await self.assertRefusal(cl, want)
                        return cl, None
                    first = await cl._read(10)
                    self.assertTrue(is_snapshot(first), "%s: %r" % (user.username, first))
                    return cl, first["payload"]

                got = await asyncio.gather(*(one(*p) for p in plan))
                for (user, rm, auth, want), (cl, snap) in zip(plan, got):
                    with self.subTest(round=rnd, user=user.username, want=want):
                        if isinstance(want, int):
                            continue
                        self.assertSnapshot(snap, rm, want)
                        self.assertEqual(snap["room"]["id"], rm["id"])
                        me = self.member_of(snap, user)
                        self.assertTrue(me["online"])
                        notes = await cl.collect(0.5 if user is noted else 0.2,
                                                 lambda m: m["type"] == "notification")
                        ids = [m["payload"]["id"] for m in notes]
                        if user is noted:
                            self.assertEqual(ids, mine)
                        else:
                            self.assertFalse(set(ids) & set(mine), "%s got %r" % (user.username, ids))
                        self.assertEqual(theirs in ids, user is members[4], "%r" % (ids,))
                for cl, _ in got:
                    await cl.ws.close()
        self.run_async(body(), limit=120)


class HandshakeTest(WsTest):

    def test_origin_allow_list(self):
        """Listed Origins and no Origin are accepted; anything else is
        refused (an HTTP 4xx/no answer to the upgrade, or error forbidden +
        4403), on each node directly."""
        u = yq.new_user()
        room = self.create_room(u)
        allowed = allowed_origins()
        self.assertTrue(allowed, "the test stack configures no "
                        "ws.allowed_origins")
        first = allowed[0]
        refused = ["http://evil.example", first + ".evil.example",
                   first + "0", first.replace("http://", "https://"),
                   "null", first.rsplit(":", 1)[0]]

        async def body():
            for node in range(1, ws_nodes() + 1):
                for origin in allowed + [None]:
                    with self.subTest(node=node, origin=origin):
                        c = await open_ws("/ws", u, node=node, origin=origin)
                        await c.ready()
                        await c.close()
                for origin in refused:
                    for path in ("/ws", room_path(room)):
                        with self.subTest(node=node, refused=origin,
                                          path=path):
                            await self.assertNotServed(
                                path, u, node=node, origin=origin,
                                close_code=4403, error_code="forbidden")
            # allowed Origins also through the front end
            for origin in allowed:
                with self.subTest(front=origin):
                    c = await open_ws("/ws", u, origin=origin)
                    await c.ready()
        self.run_async(body())

    def test_long_origin_is_refused(self):
        """An Origin longer than any buffer for it (255+ bytes: the copy
        used to fail and "no header" was assumed) is refused with 4403,
        never served: one that starts with a listed origin, and longer ones
        up to past the daemon's limit (issue 11, defect 3)."""
        u = yq.new_user()
        allowed = allowed_origins()
        self.assertTrue(allowed, "the test stack configures no "
                        "ws.allowed_origins")
        first = allowed[0]
        longs = [first + "/" + "a" * (256 - len(first)),
                 first + "." + "b" * 300,
                 "http://evil.example/" + "c" * 1200,
                 "http://" + "d" * 2000 + ".example"]

        async def body():
            for node in range(1, ws_nodes() + 1):
                for origin in longs:
                    with self.subTest(node=node, length=len(origin)):
                        c = await open_ws("/ws", u, node=node, origin=origin,
                                          open_timeout=5)
                        await self.assertRefusal(c, 4403, "forbidden")
                        self.assertEqual([m for m in c.pending
                                          if m["type"] == "heart_beat"
                                          or is_snapshot(m)], [])
        self.run_async(body())

    def test_paths(self):
        owner = yq.new_user()
        room = self.create_room(owner)
        rid = room["id"]
        good = ["/ws", "/ws/", "/ws/rooms/%d" % rid, "/ws/rooms/%d/" % rid]
        bad = ["/", "/wsx", "/ws/x", "/ws/rooms", "/ws/rooms/",
               "/ws/rooms/0", "/ws/rooms/abc", "/ws/rooms/-1",
               "/ws/rooms/%dx" % rid, "/ws/rooms/%d/chat" % rid,
               "/ws/rooms/0%d" % rid, "/ws/rooms/99999999999999999999",
               "/api/ws"]

        async def body():
            for path in good:
                with self.subTest(good=path):
                    c = await open_ws(path, owner, node=1)
                    await c.ready()
                    await c.close()
            for node in (None, 1):
                for path in bad:
                    if node is None and not path.startswith("/ws"):
                        continue        # not the WebSocket's part of the site
                    with self.subTest(bad=path, node=node):
                        await self.assertNotServed(
                            path, owner, node=node, close_code=4404,
                            error_code="not_found")
                        if node is None:
                            # and the front end still serves the others
                            c = await open_ws("/ws", owner, open_timeout=5)
                            await c.ready()
                            await c.close()
        self.run_async(body())

    def test_refused_handshake_through_front_end(self):
        """A handshake the daemon refuses (a foreign Origin) must not take
        the WebSocket service down for everyone else.

        The daemon refuses by closing the TCP connection without an HTTP
        answer; nginx counts that as a failed upstream, retries the other
        node, marks both unavailable for fail_timeout (10 s) and answers 503
        to every WebSocket client meanwhile ("no live upstreams")."""
        u = yq.new_user()

        async def body():
            try:
                with self.subTest("refusal is a client error"):
                    # (SPEC: 401/403/404, or an error + close code; not a
                    # 5xx that says the service is down)
                    await self.assertNotServed("/ws", u,
                                               origin="http://evil.example",
                                               close_code=4403,
                                               error_code="forbidden")
                with self.subTest("others still get in"):
                    try:
                        c = await open_ws("/ws", u, open_timeout=5)
                    except websockets.InvalidHandshake as e2:
                        self.fail("right after one refused handshake, a "
                                  "valid connection through the front end "
                                  "fails: %r" % (e2,))
                    await c.ready()
            finally:
                await wait_front_end_usable(u)
        self.run_async(body(), limit=40)


async def wait_front_end_usable(user, limit=20):
    """Leave the front end as we found it: wait until a connection through
    it works again (nginx's fail_timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        try:
            c = await open_ws("/ws", user, open_timeout=3)
            await c.close()
            return
        except websockets.InvalidHandshake:
            if loop.time() > deadline:
                raise AssertionError("the front end still refuses WebSocket "
                                     "connections after %ds" % limit)
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    unittest.main()
