"""Faults under load: a connection storm and a slowloris on the upgrade
(issue 11, doc/operations.md "Timeouts").

While members of a room chat (on node 1 directly and through nginx):
- STORM connections are opened as fast as the client can (a few thousand
  in about a second; half straight to node 1, half through nginx), each a
  complete upgrade without credentials: the node answers each with 101,
  an error and close 4401, and ends the stream;
- SLOWLORIS sockets start an upgrade and trickle its headers a byte at a
  time, never finishing: the node drops each once ws.handshake_timeout has
  passed (lws' handshake timeout, timeout_secs).

Asserted: every member receives every chat message, in order, once;
every storm connection that was upgraded gets its 4401 close frame and
the end of its stream; every slowloris socket is closed by the node; a
new client is served afterwards.  How long any of it took is printed, not
bounded."""

import asyncio
import base64
import os
import resource
import struct
import sys
import time
import unittest

import yq
from test_ws_common import WsTest, node_port, open_room, open_user

STORM = 2000
SLOWLORIS = 200
MEMBERS = 4
CHATS = 60
HANDSHAKE_TIMEOUT = yq.conf_int("ws", "handshake_timeout", 5)
LIVE_S = HANDSHAKE_TIMEOUT + 120     # liveness only


def upgrade_request(host, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
            % (path, host, port, key)).encode()


def close_code_of(data):
    """The code of the first close frame in a server byte stream, or
    None."""
    while len(data) >= 2:
        op, n, off = data[0] & 15, data[1] & 127, 2
        if n == 126:
            n, off = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, off = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < off + n:
            return None
        if op == 8:
            return struct.unpack("!H", data[off:off + 2])[0] if n >= 2 \
                else 1005
        data = data[off + n:]
    return None


async def storm_one(via, host, port, path, out, connected):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port),
                                      LIVE_S)
        connected.append(time.monotonic())
    except (OSError, asyncio.TimeoutError) as e:
        out.append((via, "connect", type(e).__name__))
        return
    try:
        w.write(upgrade_request(host, port, path))
        data = await asyncio.wait_for(r.read(), LIVE_S)   # to EOF
        head, _, rest = data.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            out.append((via, "http", head.split(b"\r\n")[0].decode(
                "latin-1").split(" ")[1]))
        else:
            out.append((via, "closed", close_code_of(rest)))
    except (OSError, asyncio.TimeoutError) as e:
        out.append((via, "error", type(e).__name__))
    finally:
        w.close()


async def slowloris_one(port, out):
    """Trickle header bytes until the node closes the socket."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        out.append(("connect", type(e).__name__, 0))
        return
    t0 = time.monotonic()
    w.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        while time.monotonic() - t0 < LIVE_S:
            w.write(b"a")
            await w.drain()
            try:
                d = await asyncio.wait_for(r.read(4096), 0.5)
            except asyncio.TimeoutError:
                continue
            if not d:
                out.append(("eof", None, time.monotonic() - t0))
                return
            out.append(("answered", d[:80], time.monotonic() - t0))
            return
        out.append(("open", None, time.monotonic() - t0))
    except OSError as e:
        out.append(("reset", type(e).__name__, time.monotonic() - t0))
    finally:
        w.close()


class StormTest(WsTest):

    def setUp(self):
        self.need_nodes(1)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 16384)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    def note(self, what):
        sys.stderr.write("    %s\n" % what)
        sys.stderr.flush()

    def test_members_keep_chatting_through_a_storm_and_a_slowloris(self):
        owner = yq.new_user()
        members = [yq.new_user() for _ in range(MEMBERS)]
        room = self.create_room(owner)
        for u in members:
            self.join(u, room)

        async def body():
            sender, _ = await open_room(owner, room, node=1)
            rx = []
            for i, u in enumerate(members):
                c, _ = await open_room(u, room, node=1 if i % 2 else None)
                rx.append(c)
            for c in rx:
                await c.ping()

            loris, storm, connected = [], [], []
            t0 = time.monotonic()
            loris_tasks = [asyncio.ensure_future(
                slowloris_one(node_port(1), loris))
                for _ in range(SLOWLORIS)]
            await asyncio.sleep(0.5)
            storm_tasks = [asyncio.ensure_future(storm_one(
                *(("node", "127.0.0.1", node_port(1), "/ws") if i % 2 else
                  ("nginx", yq.HOST, yq.PORT, yq.BASE_PATH + "/ws")), storm,
                connected))
                for i in range(STORM)]
            t_storm = time.monotonic()

            # chat all through it, at a pace the rate limit allows
            texts = ["storm %d" % i for i in range(CHATS)]
            for t in texts:
                await sender.ok("chat_message", {"text": t}, timeout=LIVE_S)
                await asyncio.sleep(0.12)
            chat_s = time.monotonic() - t0
            await asyncio.gather(*storm_tasks)
            storm_s = time.monotonic() - t0
            await asyncio.gather(*loris_tasks)
            loris_s = time.monotonic() - t0

            for c in rx:
                got = [m["payload"]["text"] for m in
                       await c.collect(0.0, lambda m: m["type"] ==
                                       "chat_message")]
                while len(got) < CHATS:
                    m = await c.expect_type("chat_message", LIVE_S)
                    got.append(m["payload"]["text"])
                self.assertEqual(got, texts, "%s: chat during the storm"
                                 % c.label)
                await c.ping()

            kinds = {}
            for k in storm:
                kinds[k] = kinds.get(k, 0) + 1
            self.note("storm of %d: %r, connected within %.1f s, all "
                      "answered by %.1f s; chat done at %.1f s"
                      % (STORM, kinds, max(connected, default=t_storm)
                         - t_storm, storm_s, chat_s))
            self.assertEqual(len(storm), STORM)
            # straight to the node: every one upgraded, told 4401, ended
            self.assertEqual(kinds.get(("node", "closed", 4401)), STORM // 2,
                             "%r" % (kinds,))
            # through nginx the same, except that nginx may answer 503
            # itself while it counts a node as failed (max_fails): an
            # answer too, never a hang
            self.assertEqual(kinds.get(("nginx", "closed", 4401), 0) +
                             kinds.get(("nginx", "http", "503"), 0),
                             STORM - STORM // 2, "%r" % (kinds,))

            ends = {}
            for k, _, _ in loris:
                ends[k] = ends.get(k, 0) + 1
            closed_at = sorted(t for k, _, t in loris if k in ("eof",
                                                                "reset"))
            self.note("slowloris of %d: %r, closed after %.1f-%.1f s "
                      "(ws.handshake_timeout %d s), all over in %.1f s"
                      % (SLOWLORIS, ends, closed_at[0] if closed_at else 0,
                         closed_at[-1] if closed_at else 0,
                         HANDSHAKE_TIMEOUT, loris_s))
            self.assertEqual(len(closed_at), SLOWLORIS,
                             "slowloris sockets: %r" % (ends,))
            # a handshake never finished is not answered, only dropped
            self.assertNotIn("answered", ends)

            late = await open_user(owner, node=1)
            await late.ping()
        self.run_async(body(), limit=3 * LIVE_S)


if __name__ == "__main__":
    unittest.main()
