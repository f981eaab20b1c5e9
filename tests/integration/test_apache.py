"""The shipped Apache site (etc/apache/yiqikan.conf) in front of the same
pool and ws daemon: what nginx users get, Apache users get too.

./devstack test starts a private Apache with that file (YQ_APACHE_URL)."""
import asyncio
import http.client
import json
import os
import random
import string
import unittest
import urllib.parse

import websockets


def _url():
    url = os.environ.get("YQ_APACHE_URL")
    if not url:
        raise AssertionError("YQ_APACHE_URL is not set: the Apache front end was not started")
    return urllib.parse.urlsplit(url)


def call(method, path, body=None, headers=None, raw=None):
    u = _url()
    src = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254), random.randint(1, 254))
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10, source_address=(src, 0))
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, "/api" + path, data, h)
    r = c.getresponse()
    payload = r.read()
    c.close()
    ctype = r.getheader("Content-Type", "")
    return r.status, r, (json.loads(payload) if payload and "json" in ctype else None)


def fresh_user():
    name = "ap_" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    st, _, user = call("POST", "/users/", {"username": name, "email": name + "@example.com",
                                          "password": "correct horse"})
    assert st == 201, (st, user)
    st, _, tok = call("POST", "/token", raw=urllib.parse.urlencode(
        {"username": name, "password": "correct horse"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200, (st, tok)
    return user, tok


class ApacheFrontEndTest(unittest.TestCase):
    def test_bearer_reaches_the_app(self):
        # without CGIPassAuth Apache would drop the Authorization header
        user, tok = fresh_user()
        st, _, me = call("GET", "/users/me", headers={"Authorization": "Bearer " + tok["access_token"]})
        self.assertEqual(st, 200)
        self.assertEqual(me["id"], user["id"])
        st, r, body = call("GET", "/users/me")
        self.assertEqual(st, 401)
        self.assertEqual(r.getheader("WWW-Authenticate"), "Bearer")
        self.assertIn("detail", body)

    def test_paths_queries_and_errors_keep_their_shape(self):
        user, tok = fresh_user()
        auth = {"Authorization": "Bearer " + tok["access_token"]}
        st, _, found = call("GET", "/users/?q=%s&limit=1" % user["username"], headers=auth)
        self.assertEqual(st, 200)
        self.assertEqual([u["id"] for u in found["items"]], [user["id"]])
        st, _, body = call("GET", "/no/such/thing", headers=auth)
        self.assertEqual((st, body), (404, {"detail": "Not Found"}))
        st, r, _ = call("DELETE", "/users/me", headers=auth)
        self.assertEqual(st, 405)
        st, _, body = call("POST", "/users/", raw=b"{\"username\": 1} trailing",
                           headers={"Content-Type": "application/json"})
        self.assertEqual(st, 400)
        st, _, body = call("POST", "/users/", raw=b"x" * 70000,
                           headers={"Content-Type": "application/json"})
        self.assertEqual(st, 413)
        self.assertIn("detail", body)

    def test_websocket_through_apache(self):
        _, tok = fresh_user()
        u = _url()

        async def body():
            uri = "ws://%s:%d/ws?token=%s" % (u.hostname, u.port, tok["access_token"])
            async with websockets.connect(uri) as ws:
                await ws.send(json.dumps({"type": "heart_beat", "id": "a1", "payload": {"client_ts": 42}}))
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if m.get("ref") == "a1":
                        return m

        m = asyncio.run(body())
        self.assertEqual(m["type"], "heart_beat")
        self.assertEqual(m["payload"]["client_ts"], 42)
        self.assertIsInstance(m["payload"]["server_ts"], int)


if __name__ == "__main__":
    unittest.main()
