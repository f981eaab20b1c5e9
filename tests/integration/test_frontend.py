"""The shipped front ends (etc/nginx/yiqikan.conf, etc/apache/yiqikan.conf)
serving the web client, the API docs and the test video, with the security
headers, and nginx's own errors in the API's JSON shape.

Raw sockets where a client library would refuse to send the request (a
garbage request line, a 9 KB URI or header)."""
import asyncio
import http.client
import json
import os
import re
import socket
import unittest
import urllib.parse

import websockets

import yq

FRONTS = {"nginx": "YQ_BASE_URL", "apache": "YQ_APACHE_URL"}


def front(name):
    url = os.environ.get(FRONTS[name])
    if not url:
        raise AssertionError("%s is not set: the %s front end was not started" % (FRONTS[name], name))
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def fetch(name, path, method="GET", headers=None, body=None):
    host, port = front(name)
    c = http.client.HTTPConnection(host, port, timeout=15)
    c.request(method, path, body, dict(headers or {}))
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def raw(name, request):
    """Sends bytes, returns (status, headers dict lower-cased, body)."""
    host, port = front(name)
    s = socket.create_connection((host, port), timeout=15)
    s.sendall(request)
    chunks = []
    while True:
        c = s.recv(65536)
        if not c:
            break
        chunks.append(c)
    s.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class Headers:
    def assert_security_headers(self, h, what):
        csp = h.get("content-security-policy", "")
        self.assertIn("default-src 'self'", csp, what)
        self.assertRegex(csp, r"script-src 'self'(;|$)", what)
        self.assertIn("frame-ancestors 'none'", csp, what)
        self.assertNotIn("unsafe-inline", csp, what)
        self.assertNotIn("unsafe-eval", csp, what)
        self.assertEqual(h.get("x-content-type-options"), "nosniff", what)
        self.assertEqual(h.get("referrer-policy"), "no-referrer", what)
        self.assertNotRegex(h.get("server", ""), r"\d", "%s: no version in Server" % what)


def lower(r):
    return {k.lower(): v for k, v in r.getheaders()}


class NginxErrorsAreJsonTest(unittest.TestCase, Headers):
    """nginx answers these itself, before (or instead of) the pool."""

    def assert_json_error(self, status, h, body, want_status, what):
        self.assertEqual(status, want_status, what)
        self.assertTrue(h.get("content-type", "").startswith("application/json"), (what, h))
        detail = json.loads(body)["detail"]
        self.assertIsInstance(detail, str)
        self.assertTrue(detail)
        self.assertNotIn(b"<html", body.lower())
        self.assertNotIn(b"nginx", body.lower())
        self.assert_security_headers(h, what)

    def test_400_bad_request_line(self):
        st, h, body = raw("nginx", b"GARBAGE\r\n\r\n")
        self.assert_json_error(st, h, body, 400, "garbage request line")

    def test_400_two_hosts(self):
        st, h, body = raw("nginx", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assert_json_error(st, h, body, 400, "duplicate Host")

    def test_405_on_a_static_file(self):
        for path in ("/index.html", "/rooms/1", "/api/openapi.json"):
            r, body = fetch("nginx", path, method="POST", body=b"{}",
                            headers={"Content-Type": "application/json"})
            self.assert_json_error(r.status, lower(r), body, 405, "POST " + path)
            self.assertEqual(json.loads(body), {"detail": "Method Not Allowed"})

    def test_414_uri_too_long(self):
        st, h, body = raw("nginx", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_json_error(st, h, body, 414, "long URI")

    def test_431_header_too_large(self):
        # nginx's internal 494: we answer its standard code, 431
        for path in (b"/", b"/api/token/check"):
            st, h, body = raw("nginx", b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nX-Big: "
                              + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n")
            self.assert_json_error(st, h, body, 431, "big header")

    def test_404_of_missing_files_is_json(self):
        for path in ("/assets/nope.js", "/nope.png", "/api/docs/nope.css", "/media/nope.mp4"):
            r, body = fetch("nginx", path)
            self.assert_json_error(r.status, lower(r), body, 404, path)
            self.assertEqual(json.loads(body), {"detail": "Not Found"})

    def test_unknown_api_path_is_the_apps_404(self):
        r, body = fetch("nginx", "/api/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(json.loads(body), {"detail": "Not Found"})
        self.assertTrue(r.getheader("X-Request-Id"))  # the app's, not nginx's
        self.assert_security_headers(lower(r), "/api/nope")


class FrontEndTest(Headers):
    name = None

    def index(self):
        r, body = fetch(self.name, "/")
        self.assertEqual(r.status, 200)
        return r, body

    def test_index_and_headers(self):
        r, body = self.index()
        h = lower(r)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn("no-cache", h.get("cache-control", ""))
        self.assertRegex(body.decode(), r"(?i)<title>[^<]*(一起看|yiqikan)")
        self.assert_security_headers(h, "/")

    def test_history_fallback(self):
        _, index = self.index()
        for path in ("/rooms/1", "/rooms/12/settings", "/login?next=%2Frooms%2F1", "/index.html",
                     "/users/alice.smith", "/u/v1.2"):  # dots in a route are no file
            r, body = fetch(self.name, path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(body, index, path)
            self.assertIn("no-cache", r.getheader("Cache-Control", ""), path)
            self.assert_security_headers(lower(r), path)

    def test_missing_files_are_404_not_index(self):
        _, index = self.index()
        for path in ("/assets/nope.js", "/nope.png", "/api/docs/nope.js", "/media/nope.mp4"):
            r, body = fetch(self.name, path)
            self.assertEqual(r.status, 404, path)
            self.assertNotEqual(body, index, path)
            self.assert_security_headers(lower(r), path)

    def test_hashed_assets_cached_for_ever(self):
        _, index = self.index()
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.decode())
        if not assets:
            self.skipTest("the index names no /assets/ file (no web client built)")
        for path in assets:
            r, _ = fetch(self.name, path)
            self.assertEqual(r.status, 200, path)
            self.assertIn("immutable", r.getheader("Cache-Control", ""), path)
            self.assertIn("max-age=31536000", r.getheader("Cache-Control", ""), path)
            if path.endswith(".js"):
                self.assertRegex(r.getheader("Content-Type", ""), "javascript", path)
            if path.endswith(".css"):
                self.assertRegex(r.getheader("Content-Type", ""), "^text/css", path)

    def test_openapi_and_docs_are_static(self):
        r, body = fetch(self.name, "/api/openapi.json")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type", "").startswith("application/json"))
        self.assertIsNone(r.getheader("X-Request-Id"))  # not the pool's
        doc = json.loads(body)
        self.assertRegex(doc["openapi"], r"^3\.1\.\d+$")
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "doc", "openapi.json"), "rb") as f:
            self.assertEqual(json.loads(f.read()), doc, "the committed document")
        r, body = fetch(self.name, "/api/docs/")
        self.assertEqual(r.status, 200)
        self.assertIn(b"swagger-initializer.js", body)
        self.assertNotIn(b"<script>", body)  # nothing inline: the CSP holds
        self.assert_security_headers(lower(r), "/api/docs/")
        r, body = fetch(self.name, "/api/docs/swagger-initializer.js")
        self.assertEqual(r.status, 200)
        self.assertIn(b"/api/openapi.json", body)
        r, _ = fetch(self.name, "/api/docs")
        self.assertEqual(r.status, 308)
        self.assertTrue(r.getheader("Location", "").endswith("/api/docs/"))

    def test_video_answers_range_requests(self):
        r, body = fetch(self.name, "/media/yq-test.mp4", headers={"Range": "bytes=1000-1999"})
        self.assertEqual(r.status, 206)
        self.assertEqual(len(body), 1000)
        self.assertRegex(r.getheader("Content-Range", ""), r"^bytes 1000-1999/\d+$")
        self.assertEqual(r.getheader("Content-Type"), "video/mp4")
        total = int(r.getheader("Content-Range").rsplit("/", 1)[1])
        r, tail = fetch(self.name, "/media/yq-test.mp4", headers={"Range": "bytes=-100"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.getheader("Content-Range"), "bytes %d-%d/%d" % (total - 100, total - 1, total))
        self.assertEqual(len(tail), 100)
        # moov first (+faststart): a player can start before the download ends
        r, head = fetch(self.name, "/media/yq-test.mp4", headers={"Range": "bytes=0-4095"})
        self.assertIn(b"moov", head)

    def test_api_and_ws_unchanged(self):
        r, body = fetch(self.name, "/api/token/check")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.getheader("Cache-Control"), "no-store")
        self.assertIn("detail", json.loads(body))
        self.assert_security_headers(lower(r), "/api/token/check")
        # /ws is the daemon's: a plain GET is no upgrade, and not index.html
        _, index = self.index()
        r, body = fetch(self.name, "/ws")
        self.assertNotEqual(body, index)


    def test_a_page_of_this_front_end_may_open_the_websocket(self):
        """A page served by this front end sends its own Origin; the stack's
        ws.allowed_origins lists it (127.0.0.1 and localhost), so the
        daemon serves the socket instead of closing it with 4403."""
        host, port = front(self.name)
        allowed = [o.strip() for o in yq.conf_value("ws", "allowed_origins", "").split(",")]
        for origin in ("http://127.0.0.1:%d" % port, "http://localhost:%d" % port):
            self.assertIn(origin, allowed)
        u = yq.new_user()

        async def body(origin):
            uri = "ws://%s:%d/ws?token=%s" % (host, port, u.access)
            async with websockets.connect(uri, origin=origin) as ws:
                await ws.send(json.dumps({"type": "heart_beat", "id": "o1",
                                          "payload": {"client_ts": 7}}))
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if m.get("ref") == "o1":
                        return m

        for origin in ("http://127.0.0.1:%d" % port, "http://localhost:%d" % port):
            with self.subTest(origin=origin):
                m = asyncio.run(body(origin))
                self.assertEqual(m["type"], "heart_beat")
                self.assertEqual(m["payload"]["client_ts"], 7)


class NginxFrontEndTest(FrontEndTest, unittest.TestCase):
    name = "nginx"


class ApacheFrontEndTest(FrontEndTest, unittest.TestCase):
    name = "apache"
