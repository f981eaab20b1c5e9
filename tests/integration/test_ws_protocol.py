"""The WebSocket message layer (SPEC section 5): the snapshot, heart_beat,
id/ref, errors that keep the connection open, the size limit, the
heartbeat timeout and flood control."""

import asyncio
import json
import time
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (ABUSE_LIMIT, BURST, HEARTBEAT_TIMEOUT,
                            MAX_MESSAGE, RATE_PER_S, WsTest, now_ms,
                            open_room, open_user, open_ws, ws_conf_int,
                            ws_nodes)


class SnapshotTest(WsTest):

    def test_snapshot(self):
        owner, member, absent = yq_rooms.new_users(3)
        room = self.create_room(owner, description="a room to watch in")
        self.join(member, room)
        self.join(absent, room)

        async def body():
            o, snap = await open_room(owner, room)
            self.assertSnapshot(snap, room, "owner")
            m, snap = await open_room(member, room)
            self.assertSnapshot(snap, room, "member")
            r = snap["room"]
            self.assertEqual(r["description"], "a room to watch in")
            self.assertEqual(r["member_count"], 3)
            for k, v in yq_rooms.DEFAULT_CONFIG.items():
                self.assertEqual(r["config"][k], v, "config %r" % (r,))
            self.assertEqual(self.member_of(snap, owner)["role"], "owner")
            self.assertEqual(self.member_of(snap, member)["role"], "member")
            self.assertEqual(self.member_of(snap, owner)["username"],
                             owner.username)
            self.assertTrue(self.member_of(snap, owner)["online"],
                            "the connected owner is not online: %r"
                            % (snap["members"],))
            self.assertTrue(self.member_of(snap, member)["online"])
            self.assertFalse(self.member_of(snap, absent)["online"])
            self.assertEqual(snap["members"][0]["id"], owner.id,
                             "the owner is not listed first")
            pb = snap["playback"]
            self.assertEqual((pb["media_url"], pb["state"],
                              pb["position_ms"], pb["version"],
                              pb["position_now_ms"]),
                             ("", "paused", 0, 0, 0), "%r" % (pb,))
            self.assertEqual(pb["rate"], 1)
            self.assertEqual(snap["recent_messages"], [])
            # the owner learns that the member came
            st = await o.expect_type("user_status", user_id=member.id)
            self.assertEqual(st["payload"], {"user_id": member.id,
                                             "username": member.username,
                                             "online": True})
            # a moderator's snapshot says so
            await asyncio.to_thread(self.set_role, owner, room, absent,
                                    "moderator")
            a, snap = await open_room(absent, room)
            self.assertSnapshot(snap, room, "moderator")
        self.run_async(body())


class HeartBeatTest(WsTest):

    def test_heart_beat_and_ref(self):
        u = yq.new_user()
        room = self.create_room(u)

        async def body():
            for path in ("/ws", "/ws/rooms/%d" % room["id"]):
                c = await open_ws(path, u)
                await c.ready()
                with self.subTest(path=path, id="string"):
                    t0 = now_ms()
                    await c.send("heart_beat", {"client_ts": 12345},
                                 id="hb-1")
                    m = await c.expect_ref("hb-1")
                    self.assertEqual(m["type"], "heart_beat")
                    self.assertEqual(set(m["payload"]),
                                     {"client_ts", "server_ts"})
                    self.assertEqual(m["payload"]["client_ts"], 12345)
                    st = m["payload"]["server_ts"]
                    self.assertIsInstance(st, int)
                    self.assertTrue(t0 - 2000 <= st <= now_ms() + 2000,
                                    "server_ts %d is not now" % st)
                with self.subTest(path=path, id="integer"):
                    await c.send("heart_beat", {"client_ts": 1}, id=77)
                    m = await c.expect_ref(77)
                    self.assertEqual(m["type"], "heart_beat")
                with self.subTest(path=path, id="64 chars"):
                    ref = "x" * 64
                    await c.send("heart_beat", {"client_ts": 2}, id=ref)
                    m = await c.expect_ref(ref)
                    self.assertEqual(m["type"], "heart_beat")
                with self.subTest(path=path, id="sync health fields"):
                    m = await c.ok("heart_beat", {
                        "client_ts": 3, "position_ms": 1000, "drift_ms": -40,
                        "rtt_ms": 25, "buffering": False})
                    self.assertEqual(m["payload"]["client_ts"], 3)
                with self.subTest(path=path, id="unusable ids"):
                    # too long, or not a string/integer: no ref, still
                    # answered
                    for bad in ("y" * 65, {"a": 1}, [1], 1.5, True, None):
                        await c.send("heart_beat", {"client_ts": 4}, id=bad)
                        m = await c.expect_type("heart_beat", client_ts=4)
                        self.assertNotIn("ref", m, "id %r" % (bad,))
                with self.subTest(path=path, id="bad client_ts"):
                    m = await c.refused("heart_beat", {"client_ts": "now"},
                                        "bad_request")
                    self.assertError(m, "bad_request")
                await c.close()
        self.run_async(body())

    def test_message_right_after_the_handshake(self):
        """SPEC: a client's message is answered, errors carry its id as
        ref.  On /ws the server sends nothing when a connection is ready,
        so a client cannot know when to start; a heart_beat sent at once
        must be answered (as heart_beat, or at the very least with its
        ref)."""
        u = yq.new_user()

        async def body():
            results = []
            for i in range(20):
                # a ticket costs the server more queries: a wider window
                c = await open_ws("/ws", u, node=1 + i % ws_nodes()
                                  if i < 16 else None,
                                  auth="ticket" if i % 4 < 2 else "token")
                await c.send("heart_beat", {"client_ts": i}, id="early%d" % i)
                m = await c.expect(lambda m: m.get("ref") == "early%d" % i
                                   or m["type"] == "error", 5,
                                   "the answer to the first heart_beat")
                results.append(m)
                await c.close()
            bad = [m for m in results if m["type"] != "heart_beat"]
            self.assertFalse(bad, "%d of %d heart_beats sent right after "
                             "the handshake were refused instead of "
                             "answered; %d of the refusals lack the ref; "
                             "first: %r"
                             % (len(bad), len(results),
                                sum("ref" not in m for m in bad),
                                bad[:1]))
        self.run_async(body())

    def test_heartbeat_timeout(self):
        """A silent connection is closed with 4408 after
        ws.heartbeat_timeout seconds; one that sends heart_beat stays."""
        u = yq.new_user()
        room = self.create_room(u)

        async def body():
            quiet, _ = await open_room(u, room, keepalive=False)
            t0 = time.monotonic()
            alive, _ = await open_room(u, room)        # keep-alive on
            talker = await open_user(u, keepalive=False)
            loop = asyncio.get_running_loop()

            async def talk():
                # any message counts, not just heart_beat
                while True:
                    await asyncio.sleep(HEARTBEAT_TIMEOUT / 3.0)
                    await talker.send("custom_event", {"name": "x"})
            t = loop.create_task(talk())
            code, reason = await quiet.closed(HEARTBEAT_TIMEOUT + 5)
            dt = time.monotonic() - t0
            self.assertEqual(code, 4408, "close reason %r" % reason)
            self.assertGreaterEqual(dt, HEARTBEAT_TIMEOUT - 1.0,
                                    "closed after %.1fs" % dt)
            self.assertLessEqual(dt, HEARTBEAT_TIMEOUT + 3.0,
                                 "closed after %.1fs" % dt)
            await asyncio.sleep(1.5)
            await alive.ping()
            await talker.ping()
            t.cancel()
        self.run_async(body(), limit=HEARTBEAT_TIMEOUT + 30)


class MalformedTest(WsTest):

    def test_errors_keep_the_connection_open(self):
        owner = yq.new_user()
        room = self.create_room(owner)
        raw_cases = [
            ("not json", "hello", "bad_request"),
            ("truncated json", '{"type": "heart_beat"', "bad_request"),
            ("trailing garbage", '{"type": "heart_beat"} x', "bad_request"),
            ("array", '[1, 2]', "bad_request"),
            ("string", '"heart_beat"', "bad_request"),
            ("number", '42', "bad_request"),
            ("null", 'null', "bad_request"),
            ("empty", '', "bad_request"),
            ("empty object", '{}', "bad_request"),
        ]
        # (name, message, code): these carry an id that must come back
        cases = [
            ("type missing", {"payload": {}}, "bad_request"),
            ("type not a string", {"type": 5}, "bad_request"),
            ("type null", {"type": None}, "bad_request"),
            ("payload a list", {"type": "heart_beat", "payload": [1]},
             "bad_request"),
            ("payload a string", {"type": "chat_message", "payload": "hi"},
             "bad_request"),
            ("payload null", {"type": "chat_message", "payload": None},
             "bad_request"),
            ("unknown type", {"type": "no_such_type", "payload": {}},
             "unknown_type"),
            ("server-only type", {"type": "room_event", "payload": {}},
             "unknown_type"),
            ("type in another case", {"type": "HEART_BEAT", "payload": {}},
             "unknown_type"),
            ("chat without text", {"type": "chat_message", "payload": {}},
             "bad_request"),
            ("chat text a number", {"type": "chat_message",
                                    "payload": {"text": 5}}, "bad_request"),
            ("chat text empty", {"type": "chat_message",
                                 "payload": {"text": ""}}, "bad_request"),
            ("chat text 2001 chars", {"type": "chat_message",
                                      "payload": {"text": "a" * 2001}},
             "bad_request"),
            ("play no action", {"type": "play_control",
                                "payload": {"position_ms": 1}},
             "bad_request"),
            ("play unknown action", {"type": "play_control", "payload": {
                "action": "fly", "position_ms": 1}}, "bad_request"),
            ("play negative position", {"type": "play_control", "payload": {
                "action": "seek", "position_ms": -1}}, "bad_request"),
            ("play position a string", {"type": "play_control", "payload": {
                "action": "seek", "position_ms": "10"}}, "bad_request"),
            ("play without position", {"type": "play_control", "payload": {
                "action": "seek"}}, "bad_request"),
            ("load without url", {"type": "play_control", "payload": {
                "action": "load", "position_ms": 0}}, "bad_request"),
            ("load ftp url", {"type": "play_control", "payload": {
                "action": "load", "position_ms": 0,
                "media_url": "ftp://example.com/a.mp4"}}, "bad_request"),
            ("load javascript url", {"type": "play_control", "payload": {
                "action": "load", "position_ms": 0,
                "media_url": "javascript:alert(1)"}}, "bad_request"),
            ("rate too high", {"type": "play_control", "payload": {
                "action": "rate", "position_ms": 0, "rate": 5}},
             "bad_request"),
            ("rate too low", {"type": "play_control", "payload": {
                "action": "rate", "position_ms": 0, "rate": 0.1}},
             "bad_request"),
            ("rate a string", {"type": "play_control", "payload": {
                "action": "rate", "position_ms": 0, "rate": "fast"}},
             "bad_request"),
            ("progress bad state", {"type": "progress_sync", "payload": {
                "position_ms": 0, "state": "stopped"}}, "bad_request"),
            ("progress no position", {"type": "progress_sync", "payload": {
                "state": "paused"}}, "bad_request"),
            ("custom without name", {"type": "custom_event",
                                     "payload": {"data": 1}}, "bad_request"),
            ("custom empty name", {"type": "custom_event",
                                   "payload": {"name": ""}}, "bad_request"),
            ("custom name 65 chars", {"type": "custom_event",
                                      "payload": {"name": "n" * 65}},
             "bad_request"),
            ("custom name a number", {"type": "custom_event",
                                      "payload": {"name": 7}},
             "bad_request"),
        ]

        async def body():
            c, _ = await open_room(owner, room)
            for name, raw, code in raw_cases:
                with self.subTest(raw=name):
                    await c.send_raw(raw)
                    m = await c.expect_type("error")
                    self.assertError(m, code)
                    self.assertNotIn("ref", m)
                    await c.ping()
                    await asyncio.sleep(PACE_S)
            for i, (name, msg, code) in enumerate(cases):
                with self.subTest(case=name):
                    ref = "bad%d" % i
                    await c.send_raw(json.dumps(dict(msg, id=ref)))
                    m = await c.expect_ref(ref)
                    self.assertError(m, code, ref)
                    await c.ping()
                    await asyncio.sleep(PACE_S)
            # the boundaries that are fine
            with self.subTest("chat of 2000 characters (CJK)"):
                text = "看" * 2000
                m = await c.ok("chat_message", {"text": text})
                self.assertEqual(m["payload"]["text"], text)
            with self.subTest("custom name of 64 characters"):
                m = await c.ok("custom_event", {"name": "n" * 64})
                self.assertEqual(m["payload"]["name"], "n" * 64)
            with self.subTest("no payload at all"):
                m = await c.call("heart_beat")
                self.assertEqual(m["type"], "heart_beat")
            # nothing above was broadcast as something else
            self.assertEqual([m for m in c.pending
                              if m["type"] in ("play_control",
                                               "progress_sync")], [])
        self.run_async(body())

    def test_room_messages_on_the_user_channel(self):
        u = yq.new_user()
        msgs = [("chat_message", {"text": "hi"}),
                ("play_control", {"action": "play", "position_ms": 0}),
                ("progress_sync", {"position_ms": 0, "state": "paused"}),
                ("custom_event", {"name": "x", "data": 1})]

        async def body():
            c = await open_user(u)
            for type_, payload in msgs:
                with self.subTest(type_):
                    m = await c.refused(type_, payload, "bad_request")
                    self.assertIn("ref", m)
            await c.ping()
        self.run_async(body())


class SizeTest(WsTest):

    def big_custom(self, size, ref="big"):
        # a heart_beat padded to size (a custom_event's data is bounded by
        # ws.max_custom_event, far below ws.max_message)
        head = '{"type":"heart_beat","id":"%s","payload":{"client_ts":1,' \
               '"pad":"' % ref
        tail = '"}}'
        text = head + "a" * (size - len(head) - len(tail)) + tail
        self.assertEqual(len(text.encode()), size)
        return text

    def test_largest_message_is_accepted(self):
        u = yq.new_user()
        room = self.create_room(u)

        async def body():
            c, _ = await open_room(u, room)
            text = self.big_custom(MAX_MESSAGE, "max")
            await c.send_raw(text)
            m = await c.expect_ref("max", 10)
            self.assertEqual(m["type"], "heart_beat")
            self.assertEqual(m["payload"]["client_ts"], 1)
            # in fragments too
            text = self.big_custom(MAX_MESSAGE, "frag")
            await c.ws.send([text[i:i + 7000]
                             for i in range(0, len(text), 7000)])
            m = await c.expect_ref("frag", 10)
            self.assertEqual(m["type"], "heart_beat")
            await c.ping()
        self.run_async(body())

    def test_oversize_message_is_1009(self):
        u = yq.new_user()
        room = self.create_room(u)

        async def body():
            for how in ("one frame", "fragments", "user channel"):
                with self.subTest(how):
                    if how == "user channel":
                        c = await open_user(u)
                    else:
                        c, _ = await open_room(u, room)
                    text = self.big_custom(MAX_MESSAGE + 1)
                    if how == "fragments":
                        await c.ws.send([text[i:i + 5000] for i in
                                         range(0, len(text), 5000)])
                    else:
                        await c.send_raw(text)
                    code, reason = await c.closed(5)
                    self.assertEqual(code, 1009, "reason %r" % (reason,))
                    self.assertEqual([m for m in c.pending
                                      if m["type"] == "custom_event"], [])
            # nothing was broadcast
            w, _ = await open_room(u, room)
            await w.ping()
        self.run_async(body())


# two messages a case, well within the budget of every message (ws/ws.h)
PACE_S = 2.0 / (2 * RATE_PER_S)


class FloodTest(WsTest):

    def test_rate_limit(self):
        """Chat beyond the burst is refused with rate_limited (each refusal
        carrying its ref) and not relayed; other message classes have their
        own budget; the budget refills at ws.rate."""
        owner, other = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(other, room)
        n = BURST + 10

        async def body():
            c, _ = await open_room(owner, room)
            w, _ = await open_room(other, room)
            for i in range(n):
                await c.send("chat_message", {"text": "m%d" % i},
                             id="c%d" % i)
            replies = [await c.expect_ref("c%d" % i) for i in range(n)]
            ok = [i for i, m in enumerate(replies)
                  if m["type"] == "chat_message"]
            limited = [i for i, m in enumerate(replies)
                       if m["type"] == "error"]
            for i in limited:
                self.assertError(replies[i], "rate_limited", "c%d" % i)
            self.assertEqual(len(ok) + len(limited), n, "%r" % (replies,))
            self.assertEqual(ok[:BURST], list(range(BURST)),
                             "the first %d chats (the burst) were not all "
                             "accepted: %r" % (BURST, replies))
            self.assertLessEqual(len(ok), BURST + 3,
                                 "%d of %d chats sent at once were accepted "
                                 "(burst %d)" % (len(ok), n, BURST))
            self.assertGreaterEqual(len(limited), 7)
            # other classes and heart_beat are not limited by chat
            await c.ok("custom_event", {"name": "still-here"})
            await c.ok("play_control", {"action": "seek", "position_ms": 5})
            await c.ping()
            # the other member got exactly the accepted chats
            got = await w.collect(1.0, lambda m: m["type"] == "chat_message")
            self.assertEqual([m["payload"]["text"] for m in got],
                             ["m%d" % i for i in ok])
            # the budget refills
            await asyncio.sleep(2.5 / RATE_PER_S)
            await c.ok("chat_message", {"text": "later"})
        self.run_async(body())

    def test_abuse_closes_4429(self):
        owner = yq.new_user()
        room = self.create_room(owner, keep_chat_history=False)
        n = BURST + ABUSE_LIMIT + 10

        async def body():
            c, _ = await open_room(owner, room)
            # one at a time (each answered at once, far faster than the
            # budget refills), stopping when the server says it closes: a
            # client still writing into a closed socket may get a TCP reset
            # instead of the close frame
            refused = 0
            for i in range(n):
                try:
                    await c.send("custom_event", {"name": "f", "data": i},
                                 id="f%d" % i)
                    m = await c.expect_ref("f%d" % i)
                except (websockets.ConnectionClosed, AssertionError):
                    break
                if m["type"] == "error":
                    refused += 1
                    c.pending.append(m)
                    if "clos" in m["payload"]["message"]:
                        break
            self.assertGreaterEqual(refused, ABUSE_LIMIT - 1,
                                    "only %d refusals" % refused)
            code, reason = await c.closed(5)
            self.assertEqual(code, 4429, "reason %r" % (reason,))
            limited = [m for m in c.pending if m["type"] == "error"]
            for m in limited:
                self.assertError(m, "rate_limited")
            self.assertGreaterEqual(len(limited), ABUSE_LIMIT - 1,
                                    "closed after only %d refusals"
                                    % len(limited))
            # the user can come back
            c2, _ = await open_room(owner, room)
            await c2.ok("custom_event", {"name": "back"})
        self.run_async(body())

    def test_refusals_below_the_abuse_limit_do_not_close(self):
        owner = yq.new_user()
        room = self.create_room(owner, keep_chat_history=False)
        n = BURST + ABUSE_LIMIT // 2

        async def body():
            c, _ = await open_room(owner, room)
            for i in range(n):
                await c.send("custom_event", {"name": "f"}, id="g%d" % i)
            await c.expect_ref("g%d" % (n - 1))
            await asyncio.sleep(0.5)
            await c.ping()
        self.run_async(body())


MAX_CONNS_PER_USER = ws_conf_int("max_connections_per_user", 20)
MAX_CUSTOM_EVENT = ws_conf_int("max_custom_event", 8192)
MSG_BUDGET = 2     # times ws.burst (ws/ws.h)


class BudgetTest(WsTest):
    """Issue 11, defect 10: a cap on one user's connections, every message
    type counted against a budget, and a bound on what a custom_event may
    cost."""

    def test_connections_per_user_are_capped(self):
        """ws.max_connections_per_user on a node: the next one gets
        rate_limited + 4429, on /ws and room paths alike; closing one makes
        room for another; other users are not affected."""
        owner, other = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(other, room)
        self.assertGreater(MAX_CONNS_PER_USER, 0)

        async def body():
            for node in range(1, min(ws_nodes(), 2) + 1):
                with self.subTest(node=node):
                    held = []
                    for i in range(MAX_CONNS_PER_USER):
                        if i % 2:
                            c, _ = await open_room(owner, room, node=node,
                                                   keepalive=False)
                        else:
                            c = await open_ws("/ws", owner, node=node)
                            await c.ready()
                        held.append(c)
                    for path in ("/ws", "/ws/rooms/%d" % room["id"]):
                        c = await open_ws(path, owner, node=node)
                        await self.assertRefusal(c, 4429, "rate_limited")
                    # another user is not affected
                    o, _ = await open_room(other, room, node=node)
                    await o.ping()
                    # one closed: room for one more, and only one
                    await held.pop().close()
                    await asyncio.sleep(0.2)
                    c, _ = await open_room(owner, room, node=node)
                    await c.ping()
                    held.append(c)
                    c = await open_ws("/ws", owner, node=node)
                    await self.assertRefusal(c, 4429, "rate_limited")
                    await o.close()
                    for c in held:
                        await c.close()
                    await asyncio.sleep(0.2)
        self.run_async(body(), limit=120)

    def test_every_type_counts_against_the_budget(self):
        """heart_beat, unknown types and invalid messages used to pass
        unthrottled: a burst of any of them beyond MSG_BUDGET x ws.burst
        gets rate_limited (with its ref), and keeping at it closes 4429."""
        owner = yq.new_user()
        budget = MSG_BUDGET * BURST
        n = budget + 10
        kinds = {
            "heart_beat": lambda i: json.dumps(
                {"type": "heart_beat", "id": "k%d" % i,
                 "payload": {"client_ts": now_ms()}}),
            "unknown": lambda i: json.dumps(
                {"type": "no_such_type", "id": "k%d" % i}),
            "invalid": lambda i: json.dumps(
                {"type": 5, "id": "k%d" % i}),
        }

        async def body():
            for kind, make in kinds.items():
                with self.subTest(kind=kind):
                    c = await open_ws("/ws", owner, node=1)
                    await c.ready()
                    c.stop_keepalive()
                    for i in range(n):
                        await c.send_raw(make(i))
                    replies = [await c.expect_ref("k%d" % i)
                               for i in range(n)]
                    limited = [m for m in replies if m["type"] == "error"
                               and m["payload"]["code"] == "rate_limited"]
                    self.assertGreaterEqual(len(limited), 5,
                                            "%d %s messages at once, none "
                                            "rate limited" % (n, kind))
                    self.assertLessEqual(len(limited), n - budget + 5)
                    await c.close()
            # keeping at it closes, like flooding chat
            c = await open_ws("/ws", owner, node=1)
            await c.ready()
            c.stop_keepalive()
            for i in range(budget + ABUSE_LIMIT + 10):
                try:
                    await c.send_raw(kinds["heart_beat"](i))
                    m = await c.expect_ref("k%d" % i)
                except (websockets.ConnectionClosed, AssertionError):
                    break
                if m["type"] == "error" and "clos" in m["payload"]["message"]:
                    break
            code, _ = await c.closed(5)
            self.assertEqual(code, 4429)
        self.run_async(body(), limit=90)

    def test_custom_event_cost_is_bounded(self):
        """A custom_event's data may be at most ws.max_custom_event bytes
        of JSON: larger is too_large, not relayed."""
        owner, other = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(other, room)
        edge = "x" * (MAX_CUSTOM_EVENT - 2)     # with its quotes: the limit

        async def body():
            c, _ = await open_room(owner, room)
            w, _ = await open_room(other, room)
            # (each just over the limit: still within ws.max_message)
            for data in (edge + "y", {"a": edge}, [edge, 1]):
                with self.subTest(size=len(json.dumps(data))):
                    e = await c.refused("custom_event",
                                        {"name": "big", "data": data},
                                        "too_large")
                    self.assertError(e, "too_large")
            await c.ok("custom_event", {"name": "edge", "data": edge})
            got = await w.expect_type("custom_event", name="edge")
            self.assertEqual(got["payload"]["data"], edge)
            self.assertEqual([m for m in w.pending
                              if m["type"] == "custom_event"
                              and m["payload"]["name"] == "big"], [])
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
