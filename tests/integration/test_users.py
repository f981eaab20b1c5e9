"""Profiles, profile changes and user search (SPEC section 2).

GET /users/me is the full own profile; GET /users/{id} is the public one
(no email, an `online` flag).  PUT /users/me changes fields; email and
password need the current password, and a password change ends every
earlier session.  GET /users/?q= finds users by username prefix, with `_`
and `%` taken literally, and pages with an opaque cursor.
"""

import urllib.parse

import yq
from yq import ApiTest

PUBLIC_KEYS = {"id", "username", "avatar_url", "created_at", "online"}


class ProfileTest(ApiTest):

    def test_me(self):
        u = yq.new_user()
        r = yq.get("/users/me", token=u.access)
        self.assertStatus(r, 200)
        for k in ("id", "username", "email", "avatar_url", "created_at",
                  "updated_at"):
            self.assertIn(k, r.json)
        self.assertEqual(r.json["email"], u.email)
        self.assertTime(r.json["created_at"])
        self.assertTime(r.json["updated_at"])
        self.assertNoSecrets(r, u.password)

    def test_public_profile(self):
        viewer = yq.new_user()
        other = yq.register_user(avatar_url="https://example.com/p.png")
        r = yq.get("/users/%d" % other.id, token=viewer.access)
        self.assertStatus(r, 200)
        self.assertTrue(PUBLIC_KEYS <= set(r.json), "%r" % r)
        self.assertNotIn("email", r.json)
        self.assertNotIn(other.email.encode(), r.raw)
        self.assertEqual(r.json["id"], other.id)
        self.assertEqual(r.json["username"], other.username)
        self.assertEqual(r.json["avatar_url"], "https://example.com/p.png")
        self.assertIsInstance(r.json["online"], bool)
        self.assertEqual(r.json["created_at"], other.profile["created_at"])
        self.assertNoSecrets(r, other.password)

    def test_unknown_id_is_404(self):
        u = yq.new_user()
        self.assertDetail(yq.get("/users/2147483646", token=u.access), 404)
        self.assertDetail(yq.get("/users/%d" % (u.id + 10 ** 9),
                                 token=u.access), 404)

    def test_non_numeric_id(self):
        u = yq.new_user()
        for ident in ("abc", "1abc", "%s" % u.username):
            with self.subTest(ident=ident):
                r = yq.get("/users/" + ident, token=u.access)
                self.assertIn(r.status, (404, 422), "%r" % r)
                self.assertIn("detail", r.json)

    def test_public_profile_needs_bearer(self):
        u = yq.register_user()
        self.assert401(yq.get("/users/%d" % u.id))
        self.assert401(yq.get("/users/%d" % u.id, token="garbage"))


class UpdateTest(ApiTest):

    def me(self, u):
        r = yq.get("/users/me", token=u.access)
        self.assertStatus(r, 200)
        return r.json

    def test_change_username(self):
        u = yq.new_user()
        new = yq.rand_name("Renamed_")
        r = yq.put("/users/me", {"username": new}, token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["username"], new)
        self.assertEqual(self.me(u)["username"], new)
        self.assertEqual(self.me(u)["email"], u.email)
        # Logging in goes by the new name now.
        self.assertStatus(yq.login(new.lower(), u.password), 200)

    def test_username_taken_is_409(self):
        a = yq.new_user()
        b = yq.register_user(username="Taken_" + yq.rand_str(10))
        r = yq.put("/users/me", {"username": b.username.lower()},
                   token=a.access)
        self.assertDetail(r, 409)
        self.assertEqual(self.me(a)["username"], a.username)

    def test_bad_username_is_422(self):
        u = yq.new_user()
        for bad in ("ab", "bad name", "x" * 33, "ünï" + yq.rand_str(4), 42):
            with self.subTest(username=bad):
                self.assert422(yq.put("/users/me", {"username": bad},
                                      token=u.access),
                               loc=["body", "username"])
        self.assertEqual(self.me(u)["username"], u.username)

    def test_change_avatar_url(self):
        u = yq.new_user()
        url = "https://cdn.example.com/%s.png" % yq.rand_str(8)
        r = yq.put("/users/me", {"avatar_url": url}, token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(self.me(u)["avatar_url"], url)
        r = yq.put("/users/me", {"avatar_url": ""}, token=u.access)
        self.assertStatus(r, 200)
        self.assertIn(self.me(u)["avatar_url"], ("", None))

    def test_avatar_url_of_512_wide_characters_round_trips(self):
        # Defect 5: validation counted 512 characters, the C buffer held
        # 512 bytes, so a non-ASCII URL came back cut mid-character.
        head = "https://x.example/"
        for ch in ("😀", "中", "é", "\U0010FFFF"):
            url = head + ch * (512 - len(head))
            self.assertEqual(len(url), 512)
            with self.subTest(ch=ch):
                name = yq.rand_name()
                r = yq.register(username=name, avatar_url=url)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["avatar_url"], url)
                u = yq.new_user()
                r = yq.put("/users/me", {"avatar_url": url}, token=u.access)
                self.assertStatus(r, 200)
                self.assertEqual(r.json["avatar_url"], url)
                self.assertEqual(self.me(u)["avatar_url"], url)
                r = yq.get("/users/%d" % u.id, token=u.access)
                self.assertEqual(r.json["avatar_url"], url)
                r = yq.get("/users/?q=" + u.username, token=u.access)
                self.assertEqual([i["avatar_url"] for i in r.json["items"]], [url])
                r = yq.get("/token/check", token=u.access)
                self.assertStatus(r, 200)
                self.assert422(yq.put("/users/me", {"avatar_url": url + ch},
                                      token=u.access), loc=["body", "avatar_url"])

    def test_bad_avatar_url_is_422(self):
        u = yq.new_user()
        for bad in ("javascript:alert(1)", "ftp://x",
                    "https://example.com/" + "a" * 500, 7):
            with self.subTest(avatar_url=str(bad)[:30]):
                self.assert422(yq.put("/users/me", {"avatar_url": bad},
                                      token=u.access),
                               loc=["body", "avatar_url"])
        self.assertIn(self.me(u)["avatar_url"], ("", None))

    def test_email_needs_current_password(self):
        u = yq.new_user()
        new = yq.rand_email()
        r = yq.put("/users/me", {"email": new}, token=u.access)
        self.assertIn(r.status, (401, 403, 422), "%r" % r)
        self.assertIn("detail", r.json)
        self.assertEqual(self.me(u)["email"], u.email)

    def test_email_with_wrong_current_password(self):
        u = yq.new_user()
        r = yq.put("/users/me", {"email": yq.rand_email(),
                                 "current_password": u.password + "x"},
                   token=u.access)
        self.assertIn(r.status, (401, 403), "%r" % r)
        self.assertIn("detail", r.json)
        self.assertEqual(self.me(u)["email"], u.email)

    def test_change_email(self):
        u = yq.new_user()
        new = "New.%s@Example.org" % yq.rand_str(8)
        r = yq.put("/users/me", {"email": new, "current_password":
                                 u.password}, token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["email"], new)
        self.assertEqual(self.me(u)["email"], new)
        self.assertStatus(yq.login(new.lower(), u.password), 200)

    def test_email_taken_is_409(self):
        a = yq.new_user()
        b = yq.register_user(email="Taken.%s@example.com" % yq.rand_str(8))
        r = yq.put("/users/me", {"email": b.email.upper(),
                                 "current_password": a.password},
                   token=a.access)
        self.assertDetail(r, 409)
        self.assertEqual(self.me(a)["email"], a.email)

    def test_bad_email_is_422(self):
        u = yq.new_user()
        r = yq.put("/users/me", {"email": "not-an-email",
                                 "current_password": u.password},
                   token=u.access)
        self.assert422(r, loc=["body", "email"])

    def test_change_password(self):
        u = yq.new_user()
        new_pw = yq.rand_password()
        r = yq.put("/users/me", {"password": new_pw,
                                 "current_password": u.password},
                   token=u.access)
        self.assertStatus(r, 200)
        self.assertNoSecrets(r, new_pw)
        # Every earlier token stops working.
        self.assert401(yq.get("/users/me", token=u.access))
        self.assert401(yq.get("/token/check", token=u.access))
        self.assertDetail(yq.post("/token/refresh",
                                  {"refresh_token": u.refresh}), 401)
        # Old password out, new password in.
        self.assertDetail(yq.login(u.username, u.password), 401)
        r = yq.login(u.username, new_pw)
        self.assertStatus(r, 200)
        self.assertStatus(yq.get("/users/me", token=r.json["access_token"]),
                          200)

    def test_password_change_ends_refreshed_sessions_too(self):
        u = yq.new_user()
        r = yq.post("/token/refresh", {"refresh_token": u.refresh})
        self.assertStatus(r, 200)
        access2, refresh2 = r.json["access_token"], r.json["refresh_token"]
        new_pw = yq.rand_password()
        self.assertStatus(yq.put("/users/me", {
            "password": new_pw, "current_password": u.password},
            token=access2), 200)
        self.assert401(yq.get("/users/me", token=access2))
        self.assertDetail(yq.post("/token/refresh",
                                  {"refresh_token": refresh2}), 401)

    def test_password_needs_current_password(self):
        u = yq.new_user()
        r = yq.put("/users/me", {"password": yq.rand_password()},
                   token=u.access)
        self.assertIn(r.status, (401, 403, 422), "%r" % r)
        r = yq.put("/users/me", {"password": yq.rand_password(),
                                 "current_password": "wrong-" + u.password},
                   token=u.access)
        self.assertIn(r.status, (401, 403), "%r" % r)
        # Nothing changed: the token and the password still work.
        self.assertStatus(yq.get("/users/me", token=u.access), 200)
        self.assertStatus(yq.login(u.username, u.password), 200)

    def test_short_new_password_is_422(self):
        u = yq.new_user()
        r = yq.put("/users/me", {"password": "short",
                                 "current_password": u.password},
                   token=u.access)
        self.assert422(r, loc=["body", "password"])
        self.assertStatus(yq.get("/users/me", token=u.access), 200)

    def test_update_needs_bearer(self):
        self.assert401(yq.put("/users/me", {"avatar_url": ""}))

    def test_update_body_errors(self):
        u = yq.new_user()
        self.assertDetail(yq.put("/users/me", body=b"{", token=u.access,
                                 content_type="application/json"), 400)
        self.assertDetail(yq.put("/users/me", body=b"avatar_url=",
                                 token=u.access, content_type="text/plain"),
                          415)
        self.assert422(yq.put("/users/me", body=b"[]", token=u.access,
                              content_type="application/json"))


class SearchTest(ApiTest):

    def search(self, token, **params):
        return yq.get("/users/?" + urllib.parse.urlencode(params),
                      token=token)

    def make_family(self):
        """Three users sharing a fresh prefix; returns (prefix, names)."""
        p = "sq" + yq.rand_str(8, "abcdefghijklmnopqrstuvwxyz")
        names = [p + "x_y" + yq.rand_str(4), p + "xzy" + yq.rand_str(4),
                 p.upper() + "Xab" + yq.rand_str(4)]
        for n in names:
            yq.register_user(username=n)
        return p, names

    def assertItems(self, r):
        self.assertStatus(r, 200)
        self.assertIn("items", r.json)
        self.assertIn("next_cursor", r.json)
        self.assertIsInstance(r.json["items"], list)
        for item in r.json["items"]:
            self.assertTrue(PUBLIC_KEYS - {"online"} <= set(item), item)
            self.assertNotIn("email", item)
        self.assertNoSecrets(r)
        return [item["username"] for item in r.json["items"]]

    def test_prefix_case_insensitive(self):
        u = yq.new_user()
        p, names = self.make_family()
        for q in (p, p.upper(), p[:4].upper() + p[4:]):
            with self.subTest(q=q):
                got = self.assertItems(self.search(u.access, q=q))
                self.assertEqual(sorted(got), sorted(names))
                self.assertIsNone(self.search(u.access, q=q).json[
                    "next_cursor"])

    def test_underscore_and_percent_are_literal(self):
        u = yq.new_user()
        p, names = self.make_family()
        got = self.assertItems(self.search(u.access, q=p + "x_"))
        self.assertEqual(got, [names[0]])
        got = self.assertItems(self.search(u.access, q=p + "%"))
        self.assertEqual(got, [])
        got = self.assertItems(self.search(u.access, q=p + "_"))
        self.assertEqual(got, [])
        got = self.assertItems(self.search(u.access, q=p + "x%y"))
        self.assertEqual(got, [])

    def test_no_match(self):
        u = yq.new_user()
        r = self.search(u.access, q="nomatch_" + yq.rand_str(12))
        self.assertEqual(self.assertItems(r), [])
        self.assertIsNone(r.json["next_cursor"])

    def test_non_ascii_query(self):
        u = yq.new_user()
        for q in ("ü", "名字", "aü" + yq.rand_str(4)):
            with self.subTest(q=q):
                r = self.search(u.access, q=q)
                if r.status == 422:
                    self.assert422(r, loc=["query", "q"])
                else:
                    self.assertEqual(self.assertItems(r), [])

    def test_pagination(self):
        u = yq.new_user()
        p, names = self.make_family()
        r = self.search(u.access, q=p, limit=2)
        page1 = self.assertItems(r)
        self.assertEqual(len(page1), 2)
        cursor = r.json["next_cursor"]
        self.assertIsInstance(cursor, str)
        self.assertTrue(cursor)
        r = self.search(u.access, q=p, limit=2, cursor=cursor)
        page2 = self.assertItems(r)
        self.assertEqual(len(page2), 1)
        self.assertIsNone(r.json["next_cursor"])
        self.assertEqual(sorted(page1 + page2), sorted(names))

    def test_pagination_one_by_one(self):
        u = yq.new_user()
        p, names = self.make_family()
        seen, cursor = [], None
        for _ in range(5):
            params = {"q": p, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            r = self.search(u.access, **params)
            seen += self.assertItems(r)
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(sorted(seen), sorted(names))
        self.assertIsNone(cursor)

    def test_limit_bounds(self):
        u = yq.new_user()
        for limit in ("0", "101", "abc", "-1", "1.5"):
            with self.subTest(limit=limit):
                self.assert422(self.search(u.access, q="a", limit=limit),
                               loc=["query", "limit"])
        for limit in ("1", "100"):
            with self.subTest(limit=limit):
                self.assertItems(self.search(u.access, q="a", limit=limit))

    def test_missing_q_is_422(self):
        u = yq.new_user()
        self.assert422(yq.get("/users/", token=u.access), loc=["query", "q"])
        self.assert422(yq.get("/users/?limit=5", token=u.access),
                       loc=["query", "q"])

    def test_bad_cursor(self):
        u = yq.new_user()
        r = self.search(u.access, q="a", cursor="not-a-cursor!!")
        self.assertIn(r.status, (400, 422), "%r" % r)
        self.assertIn("detail", r.json)

    def test_cursor_of_any_bytes_is_422(self):
        # Defect 4: a cursor decoding to non-ASCII reached the ascii
        # username column and MariaDB failed (illegal mix of collations,
        # 500).  A cursor is a username or it is invalid.
        u = yq.new_user()
        for raw in ("ü".encode(), "名字".encode(), b"\xff\xfe", b"a b", b"a'--",
                    b"x" * 33, b"\x01", "a😀".encode(), b"\x00abc"):
            with self.subTest(raw=raw):
                r = self.search(u.access, q="a", cursor=yq.b64url_encode(raw))
                self.assert422(r, loc=["query", "cursor"])

    def test_cursor_of_a_name_pages_after_it(self):
        u = yq.new_user()
        p, names = self.make_family()
        first = self.assertItems(self.search(u.access, q=p, limit=1))[0]
        got = self.assertItems(self.search(u.access, q=p,
                                           cursor=yq.b64url_encode(first.encode())))
        self.assertEqual(sorted(got), sorted(set(names) - {first}))

    def test_q_any_utf8(self):
        # q is counted in characters, whatever their width; nothing
        # non-ASCII can match a username, so the page is empty.
        u = yq.new_user()
        for q in ("😀" * 32, "ü" * 32, "\u0800" * 32, "a😀"):
            with self.subTest(q=q[:3]):
                self.assertEqual(self.assertItems(self.search(u.access, q=q)), [])
        self.assert422(self.search(u.access, q="😀" * 33), loc=["query", "q"])

    def test_q_not_utf8_is_422(self):
        u = yq.new_user()
        for qs in ("q=%FF", "q=a%C3", "q=%ED%A0%80", "q=%C0%AF", "q=%F4%90%80%80"):
            with self.subTest(qs=qs):
                r = yq.get("/users/?" + qs, token=u.access)
                self.assert422(r, loc=["query", "q"])
                self.assertEqual(r.json["detail"][0]["type"], "string_unicode")

    def test_search_needs_bearer(self):
        self.assert401(yq.get("/users/?q=abc"))
