"""A slow consumer (SPEC section 0/5, ws.sendq_bytes): a client that stops
reading while its room is flooded is dropped once the bytes queued for it
pass ws.sendq_bytes; the members who read keep getting everything,
promptly.

How the test makes a client slow: it opens its own socket with a tiny
SO_RCVBUF (so the kernel cannot absorb megabytes for it), hands it to
websockets with max_queue=1 and a small read_limit, and never calls recv().
Everything runs on node 1 directly, so nginx's buffers do not hide the
slowness.  The flood is 60 KB custom events from several connections of the
owner, each within the per-connection rate limit (the burst, then ws.rate),
about 3 x ws.sendq_bytes in all."""

import asyncio
import socket
import time
import unittest

import websockets

import yq
import yq_rooms
from test_ws_common import (BURST, PRESENCE_GRACE_MS, RATE_PER_S,
                            SENDQ_BYTES, WsTest, open_room, ws_conf_int)

# the largest custom_event data the stack takes (the test stack raises
# ws.max_custom_event to 60 KiB for this flood; a string's JSON adds 2)
EVENT_BYTES = min(60000, ws_conf_int("max_custom_event", 8192) - 2)


class SlowConsumerTest(WsTest):

    def test_slow_consumer_is_dropped_and_others_keep_up(self):
        owner, slow, reader = yq_rooms.new_users(3)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(slow, room)
        self.join(reader, room)
        total = (3 * SENDQ_BYTES) // EVENT_BYTES + 1
        senders_n = 6
        per_sender = -(-total // senders_n)
        total = per_sender * senders_n
        data = "x" * EVENT_BYTES

        async def drain(c, counts):
            try:
                async for raw in c.ws:
                    if raw.startswith('{"type":"error"'):
                        counts["errors"] += 1
            except websockets.ConnectionClosed:
                pass

        # evenly spread: at most a few events in flight at any moment, so
        # only a client that does not read falls behind
        per_s = 0.8 * RATE_PER_S
        start = time.monotonic() + 0.2

        async def flood(c, k):
            for i in range(per_sender):
                at = start + (i + k / senders_n) / per_s
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                await c.send("custom_event", {"name": "flood-%d-%d" % (k, i),
                                              "data": data})

        async def body():
            # the slow one: tiny receive buffer, never reads
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            from test_ws_common import node_port
            s.connect(("127.0.0.1", node_port(1)))
            cs, _ = await open_room(slow, room, node=1, sock=s, max_queue=1,
                                    read_limit=4096)
            cr, _ = await open_room(reader, room, node=1)
            senders = [(await open_room(owner, room, node=1))[0]
                       for _ in range(senders_n)]
            counts = {"errors": 0}
            drains = [asyncio.ensure_future(drain(c, counts))
                      for c in senders]
            await cr.expect(lambda m: m["type"] == "user_status" and
                            m["payload"]["user_id"] == owner.id, 3,
                            "the owner's presence")
            t0 = time.monotonic()
            floods = asyncio.ensure_future(asyncio.gather(
                *(flood(c, k) for k, c in enumerate(senders))))

            # the reader gets every event while the flood goes on
            names, lag = set(), 0.0
            offline = None
            while len(names) < total:
                m = await cr.expect(lambda m: m["type"] in (
                    "custom_event", "user_status"), 20,
                    "flood event %d of %d" % (len(names) + 1, total))
                if m["type"] == "user_status":
                    if m["payload"]["user_id"] == slow.id and \
                            not m["payload"]["online"]:
                        offline = time.monotonic() - t0
                    continue
                names.add(m["payload"]["name"])
                self.assertEqual(len(m["payload"]["data"]), EVENT_BYTES)
                lag = max(lag, yq_now_ms() - m["ts"])
            await floods
            flood_s = time.monotonic() - t0
            self.assertEqual(counts["errors"], 0,
                             "the flood itself was rate limited")
            await asyncio.sleep(0.5)
            for c in senders:
                self.assertTrue(c.ws.open, "a sender that reads everything "
                                "was dropped: %s" % c.label)
            self.assertLess(lag, 2000, "the reading member lagged %d ms "
                            "behind" % lag)

            # after the flood, the reader still gets news at once
            t1 = time.monotonic()
            await senders[0].send("chat_message", {"text": "after"})
            await cr.expect_type("chat_message", 3, text="after")
            self.assertLess(time.monotonic() - t1, 1.0)

            # the slow one was dropped: its presence ends ...
            if offline is None:
                st = await cr.expect(
                    lambda m: m["type"] == "user_status" and
                    m["payload"]["user_id"] == slow.id and
                    not m["payload"]["online"],
                    PRESENCE_GRACE_MS / 1000.0 + 5,
                    "the slow member going offline (flood took %.1fs)"
                    % flood_s)
                self.assertIsNotNone(st)
            # ... and when it finally reads, it finds the connection gone
            # before the end of the flood
            got = 0
            try:
                while True:
                    raw = await asyncio.wait_for(cs.ws.recv(), 5)
                    if '"custom_event"' in raw[:40]:
                        got += 1
            except websockets.ConnectionClosed:
                pass
            except asyncio.TimeoutError:
                self.fail("the slow client's connection is still open "
                          "after %d of %d events" % (got, total))
            self.assertLess(got, total, "the slow client got everything")
            for d in drains:
                d.cancel()
        self.run_async(body(), limit=60)

    def test_burst_within_the_rate_limit_drops_no_reader(self):
        """A few members each send their allowed burst of large events at
        once (about 2 x ws.sendq_bytes in all).  Every member reads all of
        it at full speed: nobody is a slow consumer, so nobody may be
        dropped and every event must arrive."""
        owner, reader = yq_rooms.new_users(2)
        room = self.create_room(owner, keep_chat_history=False)
        self.join(reader, room)
        n = int(2.0 * SENDQ_BYTES) // EVENT_BYTES + 1
        senders_n = -(-n // BURST)
        data = "y" * EVENT_BYTES

        async def body():
            cr, _ = await open_room(reader, room, node=1)
            senders = [(await open_room(owner, room, node=1))[0]
                       for _ in range(senders_n)]
            await cr.ping()
            msgs = []
            for k in range(senders_n):
                for i in range(BURST if (k + 1) * BURST <= n
                               else n - k * BURST):
                    msgs.append((senders[k], "burst-%d-%d" % (k, i)))
            try:
                await asyncio.gather(*(c.send("custom_event",
                                              {"name": name, "data": data})
                                       for c, name in msgs))
            except websockets.ConnectionClosed as e:
                self.fail("a sender (reading everything) was dropped while "
                          "sending its burst: %r" % (e,))
            names = set()
            try:
                while len(names) < len(msgs):
                    m = await cr.expect_type("custom_event", 10)
                    names.add(m["payload"]["name"])
            except AssertionError as e:
                self.fail("the reading member got %d of %d events of a "
                          "burst within the rate limit (%.1f MiB, "
                          "ws.sendq_bytes %.1f MiB), then: %s"
                          % (len(names), len(msgs),
                             len(msgs) * EVENT_BYTES / 1048576.0,
                             SENDQ_BYTES / 1048576.0, e))
            await cr.ping()
        self.run_async(body(), limit=40)


def yq_now_ms():
    return int(time.time() * 1000)


if __name__ == "__main__":
    unittest.main()
