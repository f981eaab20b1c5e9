"""Routing, request bodies and error shapes (SPEC section 1).

Unknown paths are 404 and wrong methods 405, both as FastAPI-style JSON;
the trailing slash is optional everywhere.  Bodies that are not JSON, are
broken JSON, are too big or too deep get 400/413/415 before any handler
sees them; JSON of the wrong shape is a 422 naming the field.  Register
(POST /users/) is the guinea pig for body handling because it needs no
token.  The last class throws odd input at every endpoint and relies on the
invariants yq.request checks (never a 5xx, always JSON).
"""

import json
import urllib.parse

import yq
from yq import ApiTest


def reg_body(**over):
    body = {"username": yq.rand_name(), "email": yq.rand_email(),
            "password": yq.rand_password()}
    body.update(over)
    return body


def raw_json(**over):
    return json.dumps(reg_body(**over)).encode("utf-8")


class RoutingTest(ApiTest):

    def test_unknown_path_is_404_json(self):
        for path in ("/nope", "/users/me/extra", "/token/nope", "/",
                     "/rooms-that-do-not-exist/1"):
            with self.subTest(path=path):
                self.assertDetail(yq.get(path), 404)

    def test_unknown_path_with_token_is_404(self):
        u = yq.new_user()
        self.assertDetail(yq.get("/nope/", token=u.access), 404)

    def test_wrong_method_is_405_json(self):
        for method, path in (("GET", "/token"), ("PUT", "/token"),
                             ("GET", "/token/refresh"),
                             ("DELETE", "/users/"), ("PATCH", "/users/")):
            with self.subTest(method=method, path=path):
                self.assertDetail(yq.request(method, path), 405)

    def test_wrong_method_with_token_is_405(self):
        u = yq.new_user()
        for method, path in (("DELETE", "/users/me"), ("POST", "/users/me"),
                             ("POST", "/token/check"),
                             ("GET", "/token/ws-ticket"),
                             ("GET", "/token/revoke")):
            with self.subTest(method=method, path=path):
                self.assertDetail(
                    yq.request(method, path, token=u.access), 405)

    def test_trailing_slash_optional(self):
        name = yq.rand_name()
        pw = yq.rand_password()
        r = yq.post("/users", reg_body(username=name, password=pw))
        self.assertStatus(r, 201)
        r = yq.post("/token/", form={"username": name, "password": pw})
        self.assertStatus(r, 200)
        tok = r.json["access_token"]
        for path in ("/users/me", "/users/me/", "/token/check",
                     "/token/check/"):
            with self.subTest(path=path):
                self.assertStatus(yq.get(path, token=tok), 200)
        uid = yq.get("/users/me", token=tok).json["id"]
        for path in ("/users/%d" % uid, "/users/%d/" % uid):
            with self.subTest(path=path):
                self.assertStatus(yq.get(path, token=tok), 200)
        for path in ("/users/?q=" + name, "/users?q=" + name):
            with self.subTest(path=path):
                self.assertStatus(yq.get(path, token=tok), 200)
        r = yq.post("/token/refresh/", {"refresh_token": r.json[
            "refresh_token"]})
        self.assertStatus(r, 200)


class BodyTest(ApiTest):
    """Body parsing, on POST /users/."""

    def post_raw(self, data, ctype="application/json"):
        return yq.post("/users/", body=data, content_type=ctype)

    def test_invalid_json_is_400(self):
        for data in (b'{"username":', b"{username: 'x'}", b"{,}",
                     b'{"a":1,}', b"nope", b"\xef\xbb\xbf{]"):
            with self.subTest(data=data):
                self.assertDetail(self.post_raw(data), 400)

    def test_trailing_garbage_is_400(self):
        for tail in (b" x", b"{}", b" 1", b"]"):
            data = raw_json() + tail
            with self.subTest(tail=tail):
                self.assertDetail(self.post_raw(data), 400)
        self.assertDetail(self.post_raw(b'{"a":1} x'), 400)

    def test_trailing_whitespace_is_fine(self):
        r = self.post_raw(raw_json() + b" \r\n\t")
        self.assertStatus(r, 201)

    def test_nul_in_string_is_400(self):
        name = yq.rand_name()
        data = raw_json(username=name).replace(
            name.encode(), name.encode()[:4] + b"\\u0000" + name.encode()[4:])
        self.assertDetail(self.post_raw(data), 400)
        # A raw NUL byte (control characters must be escaped in JSON).
        data = raw_json(username=name).replace(
            name.encode(), name.encode()[:4] + b"\x00" + name.encode()[4:])
        self.assertDetail(self.post_raw(data), 400)

    def test_nul_in_password_is_400(self):
        data = raw_json(password="abc\u0000defghij")
        self.assertIn(b"\\u0000", data)
        self.assertDetail(self.post_raw(data), 400)

    def test_deep_nesting_is_400(self):
        for depth in (40, 1000):
            deep = b"[" * depth + b"]" * depth
            data = raw_json()[:-1] + b', "extra": ' + deep + b"}"
            with self.subTest(depth=depth):
                self.assertDetail(self.post_raw(data), 400)
        deep = b'{"a":' * 40 + b"1" + b"}" * 40
        self.assertDetail(self.post_raw(deep), 400)

    def test_wrong_content_type_is_415(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/xml",
                      "application/jsonx"):
            with self.subTest(ctype=ctype):
                self.assertDetail(self.post_raw(raw_json(), ctype), 415)

    def test_json_with_charset_is_fine(self):
        r = self.post_raw(raw_json(), "application/json; charset=utf-8")
        self.assertStatus(r, 201)

    def test_body_over_64k_is_413(self):
        r = self.post_raw(raw_json(pad="x" * 70000))
        self.assertGreater(70000, yq.MAX_BODY)
        self.assertDetail(r, 413)

    def test_body_limit_boundary(self):
        base = raw_json(pad="")
        at_limit = base.replace(b'"pad": ""', b'"pad": "' + b"x" *
                                (yq.MAX_BODY - len(base)) + b'"')
        self.assertEqual(len(at_limit), yq.MAX_BODY)
        r = self.post_raw(at_limit)
        self.assertNotEqual(r.status, 413, "exactly 64 KiB refused: %r" % r)
        over = raw_json(pad="")
        over = over.replace(b'"pad": ""', b'"pad": "' + b"x" *
                            (yq.MAX_BODY + 1 - len(over)) + b'"')
        self.assertEqual(len(over), yq.MAX_BODY + 1)
        self.assertDetail(self.post_raw(over), 413)

    def test_empty_body(self):
        r = self.post_raw(b"")
        self.assertIn(r.status, (400, 422), "%r" % r)
        self.assertIsInstance(r.json, dict, "%r" % r)
        self.assertIn("detail", r.json)

    def test_body_not_an_object_is_422(self):
        for data in (b"[]", b'[{"username":"abc"}]', b'"string"', b"42",
                     b"true", b"null"):
            with self.subTest(data=data):
                self.assert422(self.post_raw(data))

    def test_wrong_type_is_422_naming_field(self):
        for field, value in (("username", 123), ("password", True),
                             ("email", ["a@example.com"]),
                             ("username", None), ("password", 12345678),
                             ("avatar_url", {"u": "http://x.example/"})):
            data = raw_json(**{field: value})
            with self.subTest(field=field, value=value):
                self.assert422(self.post_raw(data), loc=["body", field])

    def test_missing_field_is_422_naming_it(self):
        for field in ("username", "email", "password"):
            body = reg_body()
            del body[field]
            with self.subTest(field=field):
                self.assert422(yq.post("/users/", body), loc=["body", field])

    def test_missing_everything_names_all(self):
        r = yq.post("/users/", {})
        self.assert422(r)
        locs = [d["loc"] for d in r.json["detail"]]
        for field in ("username", "email", "password"):
            self.assertIn(["body", field], locs)

    def test_invalid_utf8_in_string(self):
        data = raw_json(username="abcdXYZW").replace(b"XYZW", b"\xff\xfe")
        r = self.post_raw(data)
        self.assertIn(r.status, (400, 422), "%r" % r)
        self.assertIsInstance(r.json, dict, "%r" % r)
        self.assertIn("detail", r.json)
        data = raw_json(password="abcdXYZWabcd").replace(b"XYZW",
                                                         b"\xc3\x28\xa0")
        r = self.post_raw(data)
        self.assertIn(r.status, (400, 422), "%r" % r)

    def test_escaped_unicode_is_decoded(self):
        # "\u00fc" decodes to a non-ASCII letter, not allowed in usernames.
        data = raw_json(username="ZZZZ").replace(b"ZZZZ",
                                                 b"ab\\u00fc" + yq.rand_str(
                                                     6).encode())
        self.assert422(self.post_raw(data), loc=["body", "username"])
        # ... while escaped ASCII is just ASCII.
        name = yq.rand_name()
        esc = "".join("\\u%04x" % ord(c) for c in name).encode()
        data = raw_json(username="ZZZZ").replace(b"ZZZZ", esc)
        r = self.post_raw(data)
        self.assertStatus(r, 201)
        self.assertEqual(r.json["username"], name)


class NoServerErrorTest(ApiTest):
    """Odd input everywhere; yq.request fails the test on any 5xx."""

    BODIES = [b"", b"{}", b"[]", b"null", b'"x"', b"1e999", b"-0",
              b'{"username":null,"password":null}',
              b'{"username":"a","username":"b"}',
              b'{"refresh_token":{"a":[1,2,3]}}',
              b'{"refresh_token":""}',
              b'{"refresh_token":"' + b"A" * 5000 + b'"}',
              b'{"current_password":1,"password":[],"email":{}}',
              b'{"username":"\\ud800"}',
              b'{"email":"' + b"a" * 300 + b'@example.com"}',
              b'{"avatar_url":"http://' + b"a" * 600 + b'.example/"}',
              b'{"username":"a\\"b"}', b"\x00\x01\x02", b"{" * 5000]

    ENDPOINTS = [("POST", "/users/"), ("POST", "/token"),
                 ("POST", "/token/refresh"), ("POST", "/token/revoke"),
                 ("POST", "/token/ws-ticket"), ("PUT", "/users/me")]

    def test_odd_bodies(self):
        u = yq.new_user()
        for method, path in self.ENDPOINTS:
            for data in self.BODIES:
                for tok in (None, u.access):
                    with self.subTest(method=method, path=path, data=data[:40],
                                      token=bool(tok)):
                        r = yq.request(method, path, body=data, token=tok,
                                       content_type="application/json")
                        self.assertLess(r.status, 500, "%r" % r)
        # The user still exists and works after all that.
        self.assertStatus(yq.get("/users/me", token=u.access), 200)

    def test_odd_queries(self):
        u = yq.new_user()
        for qs in ("q=%00", "q=%FF%FE", "q=" + "a" * 2000, "q=a&limit=-1",
                   "q=a&limit=99999999999999999999", "q=a&limit=1.5",
                   "q=a&cursor=garbage", "q=a&cursor=", "q=a&q=b",
                   "q=%25%25", "q=%5C", "q='%20OR%201=1--", "limit=5",
                   "q=a&limit=", "q"):
            with self.subTest(qs=qs):
                r = yq.get("/users/?" + qs, token=u.access)
                self.assertLess(r.status, 500, "%r" % r)

    def test_odd_ids(self):
        u = yq.new_user()
        for ident in ("0", "-1", "99999999999999999999999", "1e3", "0x10",
                      "%20", "1.0", "a" * 300, "%C3%BC"):
            with self.subTest(ident=ident):
                r = yq.get("/users/" + ident, token=u.access)
                self.assertIn(r.status, (404, 422), "%r" % r)

    def test_odd_authorization(self):
        u = yq.new_user()
        for value in ("Bearer", "Bearer ", "Bearer  ", "Bearer a.b",
                      "Bearer a.b.c.d", "Bearer ....", "Bearer " + "A" * 4000,
                      "Basic dXNlcjpwYXNz", "Token " + u.access,
                      "Bearer " + u.access + "x", u.access,
                      "Bearer " + u.access[:-1]):
            with self.subTest(value=value[:60]):
                r = yq.get("/users/me", headers={"Authorization": value})
                self.assert401(r)

    def test_odd_form(self):
        for data in (b"", b"username", b"username=&password=", b"%ZZ=%",
                     b"username=a&password=b&username=c",
                     b"username=" + b"a" * 3000 + b"&password=x",
                     b"password=" + b"a" * 3000 + b"&username=x",
                     b"username=%00&password=%00", b"&&&===",
                     b"username=%FF&password=%FE"):
            with self.subTest(data=data[:40]):
                r = yq.post("/token", body=data, content_type=(
                    "application/x-www-form-urlencoded"))
                # 429: the per-username limit may remember earlier runs.
                self.assertIn(r.status, (400, 401, 422, 429), "%r" % r)


class QueryEncodingTest(ApiTest):
    """Defect 4, on every list: a query value that is not UTF-8 is a 422
    naming it, before any handler can pass the bytes to a column; any
    well-formed UTF-8 is answered (200 or a 422 about its size)."""

    LISTS = ["/users/?q=a&", "/notifications/?", "/rooms/?", "/rooms/?mine=true&",
             "/rooms/invitations?", "/rooms/{room}/members?",
             "/rooms/{room}/applications?", "/rooms/{room}/messages?"]

    def lists(self, u):
        r = yq.post("/rooms/", {"name": "q-" + yq.rand_str(6)}, token=u.access)
        self.assertStatus(r, 201)
        return [p.replace("{room}", str(r.json["id"])) for p in self.LISTS]

    def test_non_utf8_value_is_422_everywhere(self):
        u = yq.new_user()
        for path in self.lists(u):
            for key in ("q", "cursor", "status", "limit", "whatever"):
                for bad in ("%FF", "%ED%A0%80", "ab%E4%B8"):
                    with self.subTest(path=path, key=key, bad=bad):
                        r = yq.get(path + key + "=" + bad, token=u.access)
                        self.assert422(r, loc=["query", key])
                        self.assertIn("string_unicode",
                                      [e["type"] for e in r.json["detail"]])

    def test_non_utf8_name_is_400(self):
        u = yq.new_user()
        for path in self.lists(u):
            with self.subTest(path=path):
                self.assertDetail(yq.get(path + "%FF=1", token=u.access), 400)

    def test_any_utf8_is_answered(self):
        u = yq.new_user()
        for path in self.lists(u):
            for v in ("😀", "中文" * 10, "\u00e9\u0301", "\U0010FFFF"):
                with self.subTest(path=path, v=v):
                    r = yq.get(path + "q=" + urllib.parse.quote(v), token=u.access)
                    self.assertStatus(r, 200)
                    self.assertIn("items", r.json)
            for c in ("😀", "中", "ü"):
                with self.subTest(path=path, cursor=c):
                    r = yq.get(path + "cursor=" + yq.b64url_encode(c.encode() * 5),
                               token=u.access)
                    self.assert422(r, loc=["query", "cursor"])


class NumberAndEscapeTest(ApiTest):
    """Defect 8 and the lone-surrogate decision (doc/security.md): JSON we
    could only guess at is a 422, never clamped or replaced."""

    def post(self, path, raw, token):
        return yq.post(path, body=raw.encode("ascii"), token=token,
                       content_type="application/json")

    def test_integers_beyond_int64_are_422(self):
        u = yq.new_user()
        for n in ("9223372036854775808", "18446744073709551615", "18446744073709551616",
                  "-9223372036854775809", "1" + "0" * 40):
            for path, raw in (("/rooms/join", '{"room_id": %s}'),
                              ("/rooms/", '{"name": "n", "config": {"max_members": %s}}'),
                              ("/users/", '{"username": "abc", "extra": [%s]}')):
                with self.subTest(n=n, path=path):
                    r = self.post(path, raw % n, u.access)
                    self.assert422(r, loc=["body"])
                    self.assertEqual(r.json["detail"][0]["type"], "int_parsing_size")
        # the edges of int64 are integers: answered on their merits
        r = self.post("/rooms/join", '{"room_id": 9223372036854775807}', u.access)
        self.assertDetail(r, 404)
        r = self.post("/rooms/join", '{"room_id": -9223372036854775808}', u.access)
        self.assert422(r, loc=["body", "room_id"])

    def test_floats_where_ints_belong_are_422(self):
        u = yq.new_user()
        for v in ("1.0", "1e3", "2E1", "-0.0", "1.5", "1e400"):
            with self.subTest(v=v):
                r = self.post("/rooms/join", '{"room_id": %s}' % v, u.access)
                self.assert422(r, loc=["body", "room_id"])
                self.assertEqual(r.json["detail"][0]["type"], "int_type")

    def test_lone_surrogate_escape_is_422(self):
        u = yq.new_user()
        for esc in ("\\ud800", "\\uDFFF", "x\\ud83dy", "\\ud83d\\u0041"):
            with self.subTest(esc=esc):
                r = self.post("/rooms/", '{"name": "n%s"}' % esc, u.access)
                self.assert422(r, loc=["body"])
                self.assertEqual(r.json["detail"][0]["type"], "string_unicode")
        # a proper pair is one character
        r = self.post("/rooms/", '{"name": "n\\ud83d\\ude00"}', u.access)
        self.assertStatus(r, 201)
        self.assertEqual(r.json["name"], "n\U0001F600")


class LongUrlTest(ApiTest):
    """Defect 9: the 2 KiB bound was applied to the whole URI, so any URL of
    2048 bytes or more was a 404 on valid endpoints.  Now the path and the
    query have bounds of their own (doc/security.md), each a 414 in the
    JSON shape."""

    def test_long_query_on_valid_endpoints(self):
        u = yq.new_user()
        pad = "&pad=" + "x" * 2500
        for path in ("/users/?q=" + u.username[:5] + pad, "/users/me?" + pad[1:],
                     "/notifications/?status=all" + pad, "/rooms/?mine=true" + pad):
            with self.subTest(path=path[:30]):
                self.assertGreater(len(path), 2048)
                r = yq.get(path, token=u.access)
                self.assertStatus(r, 200)
        r = yq.get("/users/?q=" + u.username + pad, token=u.access)
        self.assertEqual([i["id"] for i in r.json["items"]], [u.id])
        # a query value of 2000 bytes is read, and judged on its merits
        r = yq.get("/users/?q=" + "a" * 2000, token=u.access)
        self.assert422(r, loc=["query", "q"])

    def test_query_up_to_the_bound(self):
        u = yq.new_user()
        base = "/users/me?pad="
        ok = base + "x" * (4096 - len("pad="))
        self.assertStatus(yq.get(ok, token=u.access), 200)
        r = yq.get(ok + "x", token=u.access)
        self.assertDetail(r, 414)

    def test_long_path_is_414(self):
        u = yq.new_user()
        for path in ("/users/" + "a" * 2100, "/rooms/1/" + "x/" * 1100):
            with self.subTest(n=len(path)):
                self.assertDetail(yq.get(path, token=u.access), 414)
        # below the bound a path no route knows is a 404, as ever
        self.assertDetail(yq.get("/users/" + "a" * 1900, token=u.access), 404)
