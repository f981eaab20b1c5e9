"""Commands executed at a server time and members' sync health (SPEC
section 5, last bullets; doc/protocol.md "Playback" and "Sync health").

- play, pause, seek and rate broadcasts carry execute_at_ms (= server_ts
  = the stored state's updated_at_ms), a lead of ws.command_lead_min_ms to
  ws.command_lead_max_ms after the server decided it; load and
  progress_sync carry none; a newcomer's snapshot has updated_at_ms equal
  to the last command's execute_at_ms.  The bounds are checked against the
  client's own clock around the request (same machine), which holds
  however loaded the box is.
- heart_beat's position_ms, drift_ms, rtt_ms and buffering are
  range-checked (bad_request, nothing relayed) and relayed to the room as
  sync_health {members: [{user_id, position_ms, drift_ms, rtt_ms,
  buffering}]}: only members whose health changed, at most one message per
  ws.health_interval_ms per room and node, across nodes too."""

import asyncio
import time
import unittest

import yq
import yq_rooms
from test_ws_common import WsTest, now_ms, open_room, ws_conf_int, ws_nodes

LEAD_MIN = ws_conf_int("command_lead_min_ms", 40)
LEAD_MAX = max(LEAD_MIN, ws_conf_int("command_lead_max_ms", 250))
HEALTH_MS = ws_conf_int("health_interval_ms", 1000)
HEALTH_KEYS = {"user_id", "position_ms", "drift_ms", "rtt_ms", "buffering"}


def is_health(m):
    return m["type"] == "sync_health"


class ExecuteAtTest(WsTest):

    def test_commands_carry_execute_at(self):
        owner, b, late = yq_rooms.new_users(3)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)
        self.join(late, room)

        async def body():
            co, _ = await open_room(owner, room)
            cb, _ = await open_room(b, room)
            await co.ok("play_control", {"action": "load",
                                         "media_url": "https://example.com/v.mp4"})
            m = await cb.expect_type("play_control", 5, action="load")
            self.assertNotIn("execute_at_ms", m["payload"])

            last = None
            for payload in ({"action": "play", "position_ms": 1000},
                            {"action": "pause", "position_ms": 1500},
                            {"action": "seek", "position_ms": 5000},
                            {"action": "rate", "rate": 1.5},
                            {"action": "play", "position_ms": 5000}):
                t0 = now_ms()
                mine = await co.ok("play_control", payload)
                t1 = now_ms()
                theirs = await cb.expect_type("play_control", 5,
                                              action=payload["action"],
                                              version=mine["payload"]
                                              ["version"])
                for msg in (mine, theirs):
                    p = msg["payload"]
                    self.assertIsInstance(p.get("execute_at_ms"), int, p)
                    self.assertEqual(p["execute_at_ms"], p["server_ts"])
                    self.assertGreaterEqual(p["execute_at_ms"], t0 + LEAD_MIN)
                    self.assertLessEqual(p["execute_at_ms"], t1 + LEAD_MAX)
                self.assertEqual(theirs["payload"], mine["payload"])
                if last is not None:
                    # never executed before the command before it
                    self.assertGreaterEqual(mine["payload"]["execute_at_ms"],
                                            last)
                last = mine["payload"]["execute_at_ms"]
                if payload["action"] == "rate":
                    # no position: where the media is at execution
                    self.assertEqual(mine["payload"]["position_ms"], 5000)
            # progress_sync is not scheduled
            ps = await co.ok("progress_sync", {"position_ms": 6000,
                                               "state": "playing"})
            self.assertNotIn("execute_at_ms", ps["payload"])
            await co.ok("play_control", {"action": "seek",
                                         "position_ms": 7000})
            seek = await cb.expect_type("play_control", 5, action="seek",
                                        position_ms=7000)
            # the stored state takes effect at execute_at_ms
            cl, snap = await open_room(late, room)
            pb = snap["playback"]
            self.assertEqual(pb["updated_at_ms"],
                             seek["payload"]["execute_at_ms"])
            self.assertEqual(pb["position_ms"], 7000)
            self.assertEqual(pb["state"], "playing")
            self.assertEqual(pb["rate"], 1.5)
            self.assertEqual(pb["version"], seek["payload"]["version"])
        self.run_async(body())


class SyncHealthTest(WsTest):

    limit = 90

    def assertHealth(self, m):
        self.assertEqual(set(m["payload"]), {"members"}, m)
        members = m["payload"]["members"]
        self.assertIsInstance(members, list)
        self.assertTrue(members, "an empty sync_health: %r" % (m,))
        ids = [e["user_id"] for e in members]
        self.assertEqual(len(ids), len(set(ids)), m)
        for e in members:
            self.assertEqual(set(e), HEALTH_KEYS, e)
        return {e["user_id"]: e for e in members}

    async def health_of(self, c, user, want, timeout=None):
        """Read sync_health until user's entry equals want; return the
        messages read."""
        got = []
        while True:
            m = await c.expect(is_health, timeout or HEALTH_MS / 1000.0 + 5,
                               "sync_health of %s = %r" % (user.username,
                                                           want))
            got.append(m)
            e = self.assertHealth(m).get(user.id)
            if e is not None and e == dict(want, user_id=user.id):
                return got

    def test_health_is_relayed_rate_limited_and_only_changes(self):
        owner, b, d = yq_rooms.new_users(3)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)
        self.join(d, room)

        async def body():
            co, _ = await open_room(owner, room)
            cb, _ = await open_room(b, room)
            cd, _ = await open_room(d, room)
            h1 = {"position_ms": 1234, "drift_ms": -12, "rtt_ms": 30,
                  "buffering": False}
            r = await cb.ok("heart_beat", dict(h1, client_ts=now_ms()))
            self.assertEqual(r["type"], "heart_beat")
            self.assertIn("server_ts", r["payload"])
            await self.health_of(co, b, h1)

            # a fraction is rounded; a partial report keeps the rest
            await cd.ok("heart_beat", {"client_ts": now_ms(),
                                       "drift_ms": 7.6, "buffering": True})
            await self.health_of(co, d, {"position_ms": None, "drift_ms": 8,
                                         "rtt_ms": None, "buffering": True})

            # many reports quickly: the latest arrives, rate limited, and
            # only b (d did not change)
            t0 = time.monotonic()
            for i in range(20):
                await cb.send("heart_beat", {"client_ts": now_ms(),
                                             "position_ms": 2000 + i,
                                             "drift_ms": i, "rtt_ms": 31,
                                             "buffering": False})
                await asyncio.sleep(0.05)
            last = {"position_ms": 2019, "drift_ms": 19, "rtt_ms": 31,
                    "buffering": False}
            got = await self.health_of(co, b, last)
            elapsed = time.monotonic() - t0
            for m in got:
                self.assertNotIn(d.id, self.assertHealth(m),
                                 "an unchanged member was relayed: %r" % (m,))
            # an upper bound (a loaded server sends fewer, never more)
            self.assertLessEqual(len(got), elapsed * 1000 / HEALTH_MS + 2,
                                 "%d sync_health in %.1fs" % (len(got),
                                                              elapsed))
            # the same report again: nothing new to say
            await cb.ok("heart_beat", dict(last, client_ts=now_ms()))
            self.assertEqual(await co.collect(HEALTH_MS / 1000.0 * 1.5,
                                              is_health), [])
        self.run_async(body())

    def test_bad_health_is_refused_and_not_relayed(self):
        owner, b = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)
        bad = [{"position_ms": -1}, {"position_ms": 2 ** 53},
               {"position_ms": 7 * 24 * 3600 * 1000 + 1},
               {"position_ms": "12"}, {"drift_ms": 86400001},
               {"drift_ms": -86400001}, {"drift_ms": None},
               {"rtt_ms": -1}, {"rtt_ms": 60001}, {"rtt_ms": True},
               {"buffering": "yes"}, {"buffering": 1},
               {"buffering": None}, {"position_ms": float("1e300")}]

        async def body():
            co, _ = await open_room(owner, room)
            cb, _ = await open_room(b, room)
            for h in bad:
                with self.subTest(health=h):
                    e = await cb.refused("heart_beat",
                                         dict(h, client_ts=now_ms()),
                                         "bad_request")
                    self.assertIsInstance(e["payload"]["message"], str)
            await cb.ping()  # still open
            self.assertEqual(await co.collect(HEALTH_MS / 1000.0 * 1.5,
                                              is_health), [])
            # the edges are fine
            edge = {"position_ms": 7 * 24 * 3600 * 1000, "drift_ms": -86400000,
                    "rtt_ms": 60000, "buffering": True}
            await cb.ok("heart_beat", dict(edge, client_ts=now_ms()))
            m = await co.expect(is_health, HEALTH_MS / 1000.0 + 5)
            self.assertEqual(self.assertHealth(m)[b.id],
                             dict(edge, user_id=b.id))
        self.run_async(body())

    def test_health_across_nodes(self):
        if ws_nodes() < 2:
            self.skipTest("needs two ws nodes")
        owner, b = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(b, room)

        async def body():
            co, _ = await open_room(owner, room, node=1)
            cb, _ = await open_room(b, room, node=2)
            h = {"position_ms": 42, "drift_ms": 3, "rtt_ms": 12,
                 "buffering": False}
            await cb.ok("heart_beat", dict(h, client_ts=now_ms()))
            got = await self.health_of(co, b, h)
            self.assertTrue(got)
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
