"""Faults: a client closed for abuse (4429) or size (1009) reads its close
frame, even while it is still writing (issue 11, doc/operations.md
"Closing").

The client is a raw socket speaking RFC 6455 by hand, so that it can keep
writing whatever the server does: it floods (heart_beats past the budget,
or one frame announced far larger than ws.max_message), reads whatever
comes back between writes, and stops at end of stream.  Before the
daemon's lingering close, closing a socket with the flood still unread
made the kernel send a reset: the client saw ECONNRESET or EPIPE, often
without the close frame.  Now: the close frame with the right code, then
a clean end of stream (the server's FIN), and no reset before it.

Directly on a node and through nginx (which does its own lingering close
towards the client)."""

import base64
import json
import os
import select
import socket
import struct
import time
import unittest
import urllib.parse

import yq
from test_ws_common import MAX_MESSAGE, WsTest, node_port

# the whole exchange ends long before this (a liveness bound, not a goal)
DEADLINE_S = 60


def client_frame(payload, opcode=1):
    """One masked client frame (a zero mask: the payload goes as is)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class RawClient:
    """A WebSocket client on a plain socket that never stops writing."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
            % (path, host, port, key)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.sock.recv(4096)
            if not d:
                raise AssertionError("no answer to the upgrade")
            buf += d
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status + b" ":
            raise AssertionError("upgrade answered %r" % status)
        self.sock.setblocking(False)
        self.frames = []        # (opcode, payload) from the server
        self.sent = 0

    def parse(self):
        while len(self.buf) >= 2:
            op, n, off = self.buf[0] & 15, self.buf[1] & 127, 2
            if self.buf[1] & 0x80:
                raise AssertionError("a masked frame from the server")
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < off + n:
                return
            self.frames.append((op, self.buf[off:off + n]))
            self.buf = self.buf[off + n:]

    def flood(self, chunk):
        """Write chunk after chunk, reading in between, until the server
        ends the stream.  Returns how it ended: "eof", or the error of a
        reset ("ECONNRESET ..." / "EPIPE ...") or "deadline"."""
        t0 = time.monotonic()
        pending = memoryview(b"")
        while time.monotonic() - t0 < DEADLINE_S:
            r, w, _ = select.select([self.sock], [self.sock], [], 1.0)
            if w:
                if not pending:
                    pending = memoryview(chunk)
                try:
                    n = self.sock.send(pending)
                    self.sent += n
                    pending = pending[n:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    return "send: %r" % (e,)
            if r:
                try:
                    d = self.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    return "recv: %r" % (e,)
                if not d:
                    return "eof"
                self.buf += d
                self.parse()
        return "deadline"

    def close(self):
        self.sock.close()


class CloseFrameTest(WsTest):

    def endpoints(self):
        yield "node 1", "127.0.0.1", node_port(1)
        yield "front end", yq.HOST, yq.PORT

    def open(self, where, host, port, user, path="/ws"):
        base = yq.BASE_PATH if where == "front end" else ""
        c = RawClient(host, port, "%s%s?token=%s" % (
            base, path, urllib.parse.quote(user.access)))
        self.addCleanup(c.close)
        return c

    def assertClosedCleanly(self, c, how, code, where):
        closes = [p for op, p in c.frames if op == 8]
        texts = [p for op, p in c.frames if op == 1]
        self.assertEqual(how, "eof", "%s: the stream ended with %s after "
                         "%d bytes written, close frames %r"
                         % (where, how, c.sent, closes))
        self.assertTrue(closes, "%s: end of stream without a close frame "
                        "(%d text frames, %d bytes written)"
                        % (where, len(texts), c.sent))
        self.assertEqual(struct.unpack("!H", closes[0][:2])[0], code,
                         "%s: close frame %r" % (where, closes[0]))
        self.assertEqual(c.frames[-1][0], 8, "%s: frames after the close "
                         "frame: %r" % (where, c.frames[-3:]))
        for t in texts:
            m = json.loads(t)
            self.assertIsInstance(m.get("type"), str, "%r" % (t,))
        return texts

    def test_a_flooding_client_reads_4429(self):
        """heart_beat after heart_beat, far past the message budget and
        ws.abuse_limit refusals, writing all the while."""
        u = yq.new_user()
        msg = client_frame(json.dumps({
            "type": "heart_beat", "payload": {"client_ts": 1}}).encode())
        for where, host, port in self.endpoints():
            with self.subTest(via=where):
                c = self.open(where, host, port, u)
                how = c.flood(msg * 256)
                texts = self.assertClosedCleanly(c, how, 4429, where)
                limited = [t for t in texts if b"rate_limited" in t]
                self.assertTrue(limited, "%s: closed 4429 without a "
                                "rate_limited error" % where)

    def test_an_oversized_message_reads_1009(self):
        """One frame announced at 16 times ws.max_message, its payload
        written on and on."""
        u = yq.new_user()
        size = 16 * MAX_MESSAGE
        for where, host, port in self.endpoints():
            with self.subTest(via=where):
                c = self.open(where, host, port, u)
                c.sock.setblocking(True)
                c.sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, size)
                               + b"\0\0\0\0")
                c.sock.setblocking(False)
                how = c.flood(b"x" * 65536)
                self.assertClosedCleanly(c, how, 1009, where)

    def test_the_node_still_serves_others(self):
        """After the floods, a fresh client of the same user is served
        (the closes cost the node nothing lasting)."""
        u = yq.new_user()
        msg = client_frame(json.dumps({
            "type": "heart_beat", "payload": {"client_ts": 1}}).encode())
        for _ in range(3):
            c = self.open("node 1", "127.0.0.1", node_port(1), u)
            self.assertEqual(c.flood(msg * 256), "eof")
            c.close()

        async def body():
            from test_ws_common import open_user
            ok = await open_user(u, node=1)
            await ok.ping()
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
