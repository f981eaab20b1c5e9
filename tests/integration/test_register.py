"""Registration: POST /users/ (SPEC section 2).

A good registration is 201 with the user object and nothing secret in it;
each field is validated with a 422 that names it; usernames and emails are
unique case-insensitively (409), also when many clients race for the same
name at once.
"""

import threading

import yq
from yq import ApiTest

USER_KEYS = {"id", "username", "email", "avatar_url", "created_at",
             "updated_at"}


class RegisterTest(ApiTest):

    def register_ok(self, **fields):
        """Register with the given fields (others random); expect 201."""
        r = yq.register(**fields)
        self.assertStatus(r, 201)
        return r

    def test_register_returns_user(self):
        name = yq.rand_name("Reg_")
        email = yq.rand_email()
        pw = yq.rand_password()
        r = yq.register(name, email, pw)
        self.assertStatus(r, 201)
        u = r.json
        self.assertTrue(USER_KEYS <= set(u), "missing keys in %r" % u)
        self.assertIsInstance(u["id"], int)
        self.assertNotIsInstance(u["id"], bool)
        self.assertGreater(u["id"], 0)
        self.assertEqual(u["username"], name)
        self.assertEqual(u["email"], email)
        self.assertIn(u["avatar_url"], ("", None))
        created = self.assertTime(u["created_at"])
        updated = self.assertTime(u["updated_at"])
        self.assertLessEqual(created, updated)
        self.assertNoSecrets(r, pw)

    def test_ids_are_distinct(self):
        a = self.register_ok().json["id"]
        b = self.register_ok().json["id"]
        self.assertNotEqual(a, b)

    def test_case_and_email_stored_as_given(self):
        name = yq.rand_name("MiXeD.")
        email = "First.Last+Tag_%s@Sub.Example.CO.uk" % yq.rand_str(6)
        r = self.register_ok(username=name, email=email)
        self.assertEqual(r.json["username"], name)
        self.assertEqual(r.json["email"], email)

    def test_with_avatar_url(self):
        for url in ("https://img.example.com/a/b.png?x=1&y=2",
                    "http://example.com/a.jpg", ""):
            with self.subTest(url=url):
                r = self.register_ok(avatar_url=url)
                self.assertEqual(r.json["avatar_url"] or "", url)

    def test_avatar_url_512_ok_513_not(self):
        head = "https://example.com/"
        r = self.register_ok(avatar_url=head + "a" * (512 - len(head)))
        self.assertEqual(len(r.json["avatar_url"]), 512)
        self.assert422(yq.register(avatar_url=head + "a" * (513 - len(head))),
                       loc=["body", "avatar_url"])

    def test_bad_avatar_url_is_422(self):
        for url in ("javascript:alert(1)", "ftp://x", "ftp://example.com/a",
                    "data:image/png;base64,AAAA", "example.com/a.png",
                    "//example.com/a.png", "http://", "https://",
                    "file:///etc/passwd", "http://exa mple.com/"):
            with self.subTest(url=url):
                self.assert422(yq.register(avatar_url=url),
                               loc=["body", "avatar_url"])

    def test_username_lengths(self):
        # 3 characters: pick one that is free (earlier runs may hold some).
        for _ in range(10):
            r = yq.register(username=yq.rand_str(3))
            if r.status != 409:
                break
        self.assertStatus(r, 201)
        self.register_ok(username=yq.rand_name("u", 31))
        self.assert422(yq.register(username="ab"), loc=["body", "username"])
        self.assert422(yq.register(username=""), loc=["body", "username"])
        self.assert422(yq.register(username=yq.rand_name("u", 32)),
                       loc=["body", "username"])
        self.assert422(yq.register(username="a" * 300),
                       loc=["body", "username"])

    def test_username_allowed_characters(self):
        r = self.register_ok(username="A.b-C_" + yq.rand_str(8))
        self.assertEqual(r.json["username"][:6], "A.b-C_")

    def test_username_bad_characters_is_422(self):
        for bad in ("bad name", "bad/name", "bad@name", "bad+name",
                    "bad%name", "bad'name", "bad\"name", "bad\tname",
                    "üser", "用户名字", "bad\u200bname", "bad\nname",
                    "bad;name", "bad<b>", "bad\\name"):
            name = bad + yq.rand_str(6)
            with self.subTest(username=bad):
                self.assert422(yq.register(username=name),
                               loc=["body", "username"])

    def test_bad_email_is_422(self):
        long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
        self.assertGreater(len(long_email), 254)
        for bad in ("noatsign", "a@b", "@example.com", "a@", "a@.com",
                    "a b@example.com", "a@exa mple.com", "a@@example.com",
                    "", "a@example.", long_email):
            with self.subTest(email=bad):
                self.assert422(yq.register(email=bad), loc=["body", "email"])

    def test_password_lengths(self):
        self.assert422(yq.register(password="1234567"),
                       loc=["body", "password"])
        self.assert422(yq.register(password=""), loc=["body", "password"])
        self.assert422(yq.register(password="p" * 1025),
                       loc=["body", "password"])
        self.assert422(yq.register(password="p" * 5000),
                       loc=["body", "password"])
        # 8 and 128 are fine, and the 128-byte one logs in.
        self.register_ok(password="12345678")
        name, pw = yq.rand_name(), yq.rand_str(128)
        self.register_ok(username=name, password=pw)
        r = yq.login(name, pw)
        self.assertStatus(r, 200)

    def test_non_ascii_password(self):
        name, pw = yq.rand_name(), "pässwörd-密码-" + yq.rand_str(6)
        self.register_ok(username=name, password=pw)
        self.assertStatus(yq.login(name, pw, form=False), 200)
        self.assertStatus(yq.login(name, pw, form=True), 200)

    def test_all_errors_reported_together(self):
        r = yq.register(username="x", email="nope", password="short")
        self.assert422(r)
        locs = [d["loc"] for d in r.json["detail"]]
        for field in ("username", "email", "password"):
            self.assertIn(["body", field], locs)

    def test_bad_registration_creates_nothing(self):
        name = yq.rand_name()
        self.assert422(yq.register(username=name, password="short"),
                       loc=["body", "password"])
        self.register_ok(username=name)


class DuplicateTest(ApiTest):

    def test_duplicate_username_is_409(self):
        name = yq.rand_name("dup_")
        self.assertStatus(yq.register(username=name), 201)
        self.assertDetail(yq.register(username=name), 409)

    def test_duplicate_username_other_case_is_409(self):
        name = "Dup_" + yq.rand_str(10)
        self.assertStatus(yq.register(username=name), 201)
        self.assertDetail(yq.register(username=name.lower()), 409)

    def test_duplicate_email_other_case_is_409(self):
        email = "Dup.%s@Example.com" % yq.rand_str(10)
        self.assertStatus(yq.register(email=email), 201)
        self.assertDetail(yq.register(email=email.lower()), 409)
        self.assertDetail(yq.register(email=email.upper()), 409)

    def test_409_leaves_the_first_user_alone(self):
        name, pw = "Keep_" + yq.rand_str(10), yq.rand_password()
        self.assertStatus(yq.register(username=name, password=pw), 201)
        self.assertDetail(yq.register(username=name.upper(),
                                      password="other-password"), 409)
        self.assertStatus(yq.login(name, pw), 200)

    def race(self, n, make_fields):
        """Register n times at once; return the statuses."""
        barrier = threading.Barrier(n)
        statuses = [None] * n
        errors = []

        def run(i):
            try:
                barrier.wait(10)
                statuses[i] = yq.register(**make_fields(i)).status
            except Exception as e:          # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        return statuses

    def race_size(self):
        # Each racer is an attempt on the same username; stay within the
        # per-username register limit so that none of them gets a 429.
        lim = yq.rate_limit("register_user")
        n = 8 if lim is None or lim[0] == 0 else min(8, lim[0])
        if n < 2:
            self.skipTest("register_user limit %r too small to race" % (lim,))
        return n

    def test_concurrent_same_username(self):
        n = self.race_size()
        name = yq.rand_name("race_")
        statuses = self.race(n, lambda i: {
            "username": name if i % 2 else name.upper()})
        self.assertEqual(sorted(statuses), [201] + [409] * (n - 1),
                         "statuses %r" % statuses)

    def test_concurrent_same_email(self):
        email = "Race.%s@example.com" % yq.rand_str(10)
        statuses = self.race(8, lambda i: {
            "email": email if i % 2 else email.lower()})
        self.assertEqual(sorted(statuses), [201] + [409] * 7,
                         "statuses %r" % statuses)
