"""Login, access tokens, refresh rotation, revoke, ws tickets (SPEC 2).

Login takes the OAuth2 password form or JSON, by username or email in any
case, and never says whether a user exists.  Access tokens are HS256 JWTs:
the tests cannot sign one, so they check that forged ones (alg none, a
changed payload, a foreign key) are refused.  Refresh tokens are single
use; reusing one revokes its whole family.
"""

import threading
import time

import yq
from yq import ApiTest


class LoginTest(ApiTest):

    def assertTokens(self, r):
        self.assertStatus(r, 200)
        t = r.json
        for k in ("access_token", "refresh_token", "token_type", "expires_in"):
            self.assertIn(k, t)
        self.assertEqual(t["token_type"].lower(), "bearer")
        self.assertIsInstance(t["expires_in"], int)
        self.assertNotIsInstance(t["expires_in"], bool)
        self.assertGreater(t["expires_in"], 0)
        self.assertIsInstance(t["refresh_token"], str)
        self.assertGreaterEqual(len(t["refresh_token"]), 16)
        self.assertEqual(t["access_token"].count("."), 2)
        self.assertNotEqual(t["access_token"], t["refresh_token"])
        return t

    def test_form_login(self):
        u = yq.register_user()
        t = self.assertTokens(yq.login(u.username, u.password))
        self.assertStatus(yq.get("/users/me", token=t["access_token"]), 200)

    def test_form_login_with_grant_type(self):
        u = yq.register_user()
        r = yq.post("/token", form={"grant_type": "password",
                                    "username": u.username,
                                    "password": u.password})
        self.assertTokens(r)

    def test_json_login(self):
        u = yq.register_user()
        self.assertTokens(yq.login(u.username, u.password, form=False))

    def test_login_by_username_any_case(self):
        u = yq.register_user(username="Case_" + yq.rand_str(10))
        self.assertTokens(yq.login(u.username.lower(), u.password))
        self.assertTokens(yq.login(u.username.upper(), u.password,
                                   form=False))

    def test_login_by_email_any_case(self):
        u = yq.register_user(email="Mail.%s@Example.com" % yq.rand_str(10))
        t = self.assertTokens(yq.login(u.email, u.password))
        me = yq.get("/users/me", token=t["access_token"]).json
        self.assertEqual(me["id"], u.id)
        self.assertTokens(yq.login(u.email.upper(), u.password, form=False))

    def test_form_encoding_of_special_characters(self):
        pw = "p&s=w+r%d ü/?#" + yq.rand_str(6)
        u = yq.register_user(password=pw)
        self.assertTokens(yq.login(u.username, pw))

    def test_claims(self):
        u = yq.new_user()
        header, claims, sig = yq.jwt_parts(u.access)
        self.assertEqual(header.get("alg"), "HS256")
        self.assertTrue(sig)
        for k in ("iss", "aud", "sub", "iat", "exp", "jti", "typ", "ver"):
            self.assertIn(k, claims)
        self.assertEqual(claims["typ"], "access")
        self.assertEqual(str(claims["sub"]), str(u.id))
        self.assertIsInstance(claims["exp"], int)
        self.assertLess(abs(claims["iat"] - time.time()), 600)
        self.assertLessEqual(abs((claims["exp"] - claims["iat"])
                                 - u.tokens["expires_in"]), 5)

    def test_tokens_differ_per_login(self):
        u = yq.new_user()
        r = yq.login(u.username, u.password)
        self.assertStatus(r, 200)
        self.assertNotEqual(r.json["access_token"], u.access)
        self.assertNotEqual(r.json["refresh_token"], u.refresh)
        self.assertNotEqual(yq.jwt_parts(r.json["access_token"])[1]["jti"],
                            yq.jwt_parts(u.access)[1]["jti"])

    def test_wrong_password_and_unknown_user_look_the_same(self):
        u = yq.register_user()
        wrong = yq.login(u.username, u.password + "x")
        unknown = yq.login(yq.rand_name("nobody_"), u.password)
        self.assertDetail(wrong, 401)
        self.assertDetail(unknown, 401)
        self.assertEqual(wrong.json, unknown.json)
        self.assertEqual(wrong.headers.get("www-authenticate"),
                         unknown.headers.get("www-authenticate"))
        unknown_mail = yq.login(yq.rand_email(), u.password, form=False)
        self.assertEqual(unknown_mail.status, 401)
        self.assertEqual(unknown_mail.json, wrong.json)

    def test_non_ascii_login_name(self):
        # No such user can exist (usernames are ASCII); whatever the lookup
        # does with the bytes, the answer is the usual "no" (or a 422).
        for name in ("üser" + yq.rand_str(6), "用户" + yq.rand_str(6),
                     "ü%s@example.com" % yq.rand_str(6)):
            for form in (True, False):
                with self.subTest(name=name, form=form):
                    r = yq.login(name, "whatever-password", form=form)
                    self.assertIn(r.status, (401, 422), "%r" % r)
                    self.assertIn("detail", r.json)

    def test_wrong_content_type_is_415(self):
        u = yq.register_user()
        body = "username=%s&password=%s" % (u.username, u.password)
        for ctype in ("text/plain", "application/xml",
                      "multipart/form-data; boundary=zz"):
            with self.subTest(ctype=ctype):
                r = yq.post("/token", body=body, content_type=ctype)
                self.assertDetail(r, 415)

    def test_missing_fields_is_422(self):
        r = yq.post("/token", form={"username": yq.rand_name()})
        self.assert422(r, loc=["body", "password"])
        r = yq.post("/token", form={"password": "whatever1"})
        self.assert422(r, loc=["body", "username"])
        r = yq.post("/token", {"username": yq.rand_name()})
        self.assert422(r, loc=["body", "password"])

    def test_login_response_has_no_secrets(self):
        u = yq.register_user()
        r = yq.login(u.username, u.password)
        self.assertStatus(r, 200)
        self.assertNotIn(u.password.encode(), r.raw)
        self.assertNotIn(b"$argon2", r.raw)


class AccessTokenTest(ApiTest):

    def test_me_with_token(self):
        u = yq.new_user()
        r = yq.get("/users/me", token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], u.id)
        self.assertEqual(r.json["username"], u.username)
        self.assertEqual(r.json["email"], u.email)
        self.assertNoSecrets(r, u.password)

    def test_no_token_is_401(self):
        self.assert401(yq.get("/users/me"))
        self.assert401(yq.get("/token/check"))
        self.assert401(yq.post("/token/ws-ticket"))
        self.assert401(yq.get("/users/1"))
        self.assert401(yq.get("/users/?q=abc"))
        self.assert401(yq.put("/users/me", {"avatar_url": ""}))

    def test_garbage_token_is_401(self):
        for tok in ("garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.",
                    "x" * 300):
            with self.subTest(token=tok[:20]):
                self.assert401(yq.get("/users/me", token=tok))

    def test_alg_none_is_401(self):
        u = yq.new_user()
        header, claims, _ = yq.jwt_parts(u.access)
        for alg in ("none", "None", "NONE"):
            forged = yq.jwt_encode({"alg": alg, "typ": "JWT"}, claims, "")
            with self.subTest(alg=alg):
                self.assert401(yq.get("/users/me", token=forged))
                self.assert401(yq.get("/token/check", token=forged))
        # alg none but the original signature left on
        sig = u.access.rsplit(".", 1)[1]
        forged = yq.jwt_encode({"alg": "none", "typ": "JWT"}, claims, sig)
        self.assert401(yq.get("/users/me", token=forged))

    def test_tampered_payload_is_401(self):
        a = yq.new_user()
        b = yq.register_user()
        header, claims, sig = yq.jwt_parts(a.access)
        # Same signature, payload now claims to be b.
        claims_b = dict(claims, sub=str(b.id) if isinstance(
            claims["sub"], str) else b.id)
        forged = yq.jwt_encode(header, claims_b, sig)
        self.assert401(yq.get("/users/me", token=forged))
        # Same signature, later expiry.
        forged = yq.jwt_encode(header, dict(claims, exp=claims["exp"] + 3600),
                               sig)
        self.assert401(yq.get("/users/me", token=forged))
        # One character of the payload flipped.
        h, p, s = a.access.split(".")
        i = len(p) // 2
        flipped = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]
        self.assert401(yq.get("/users/me", token="%s.%s.%s" % (h, flipped, s)))
        # The real token still works.
        self.assertStatus(yq.get("/users/me", token=a.access), 200)

    def test_foreign_key_and_other_algs_are_401(self):
        u = yq.new_user()
        header, claims, _ = yq.jwt_parts(u.access)
        for key in (b"k" * 32, b"", b"secret"):
            forged = yq.jwt_sign_hs256({"alg": "HS256", "typ": "JWT"}, claims,
                                       key)
            with self.subTest(key=key):
                self.assert401(yq.get("/users/me", token=forged))
        sig = u.access.rsplit(".", 1)[1]
        for alg in ("HS512", "HS384", "RS256"):
            forged = yq.jwt_encode({"alg": alg, "typ": "JWT"}, claims, sig)
            with self.subTest(alg=alg):
                self.assert401(yq.get("/users/me", token=forged))

    def test_refresh_token_is_not_an_access_token(self):
        u = yq.new_user()
        self.assert401(yq.get("/users/me", token=u.refresh))

    def test_token_check(self):
        u = yq.new_user()
        r = yq.get("/token/check", token=u.access)
        self.assertStatus(r, 200)
        self.assertIs(r.json["valid"], True)
        self.assertEqual(r.json["user_id"], u.id)
        self.assertEqual(r.json["username"], u.username)
        self.assertIsInstance(r.json["exp"], int)
        self.assertEqual(r.json["exp"], yq.jwt_parts(u.access)[1]["exp"])
        self.assertGreater(r.json["exp"], time.time())
        self.assert401(yq.get("/token/check", token=u.access[:-2]))
        self.assert401(yq.get("/token/check", token=u.refresh))


class RefreshTest(ApiTest):

    def refresh(self, rt, **kw):
        return yq.post("/token/refresh", {"refresh_token": rt}, **kw)

    def test_refresh_gives_a_new_pair(self):
        u = yq.new_user()
        r = self.refresh(u.refresh)
        self.assertStatus(r, 200)
        t = r.json
        self.assertEqual(t["token_type"].lower(), "bearer")
        self.assertIsInstance(t["expires_in"], int)
        self.assertGreater(t["expires_in"], 0)
        self.assertNotEqual(t["refresh_token"], u.refresh)
        self.assertNotEqual(t["access_token"], u.access)
        me = yq.get("/users/me", token=t["access_token"])
        self.assertStatus(me, 200)
        self.assertEqual(me.json["id"], u.id)
        # The old access token keeps working until it expires.
        self.assertStatus(yq.get("/users/me", token=u.access), 200)

    def test_rotation_chain(self):
        u = yq.new_user()
        rt = u.refresh
        for _ in range(3):
            r = self.refresh(rt)
            self.assertStatus(r, 200)
            self.assertNotEqual(r.json["refresh_token"], rt)
            rt = r.json["refresh_token"]

    def test_reuse_revokes_the_family(self):
        u = yq.new_user()
        r1 = u.refresh
        r = self.refresh(r1)
        self.assertStatus(r, 200)
        r2 = r.json["refresh_token"]
        # r1 again: theft.  401, and the family is gone.
        self.assertDetail(self.refresh(r1), 401)
        self.assertDetail(self.refresh(r2), 401)
        self.assertDetail(self.refresh(r1), 401)

    def test_reuse_after_longer_chain(self):
        u = yq.new_user()
        r1 = u.refresh
        r2 = self.refresh(r1).json["refresh_token"]
        r = self.refresh(r2)
        self.assertStatus(r, 200)
        r3 = r.json["refresh_token"]
        # The new refresh token works once...
        self.assertDetail(self.refresh(r2), 401)
        # ... and the reuse took the newest one down with it.
        self.assertDetail(self.refresh(r3), 401)

    def test_reuse_leaves_other_families_alone(self):
        u = yq.new_user()
        other = yq.login(u.username, u.password)
        self.assertStatus(other, 200)
        r2 = self.refresh(u.refresh)
        self.assertStatus(r2, 200)
        self.assertDetail(self.refresh(u.refresh), 401)
        r = self.refresh(other.json["refresh_token"])
        self.assertStatus(r, 200)

    def test_concurrent_reuse_gives_one_pair(self):
        # Two clients presenting the same refresh token at once: at most
        # one gets a new pair (single use), none gets a 5xx.
        u = yq.new_user()
        statuses = []
        barrier = threading.Barrier(4)

        def go():
            barrier.wait(10)
            statuses.append(self.refresh(u.refresh).status)

        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(statuses), 4)
        self.assertLessEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(200) + statuses.count(401), 4,
                         statuses)

    def test_unknown_refresh_token_is_401(self):
        for rt in (yq.rand_str(43), "x", "a" * 200):
            with self.subTest(rt=rt[:20]):
                self.assertDetail(self.refresh(rt), 401)

    def test_access_token_is_not_a_refresh_token(self):
        u = yq.new_user()
        self.assertDetail(self.refresh(u.access), 401)

    def test_missing_or_wrong_type_is_422(self):
        self.assert422(yq.post("/token/refresh", {}),
                       loc=["body", "refresh_token"])
        self.assert422(yq.post("/token/refresh", {"refresh_token": 123}),
                       loc=["body", "refresh_token"])
        self.assert422(yq.post("/token/refresh", {"token": "abc"}),
                       loc=["body", "refresh_token"])


class RevokeTest(ApiTest):

    def test_revoke_then_refresh_is_401(self):
        u = yq.new_user()
        r = yq.post("/token/revoke", {"refresh_token": u.refresh},
                    token=u.access)
        self.assertStatus(r, 204)
        self.assertEqual(r.raw, b"")
        r = yq.post("/token/refresh", {"refresh_token": u.refresh})
        self.assertDetail(r, 401)

    def test_revoke_needs_bearer(self):
        u = yq.new_user()
        self.assert401(yq.post("/token/revoke", {"refresh_token": u.refresh}))
        # ... and did nothing.
        r = yq.post("/token/refresh", {"refresh_token": u.refresh})
        self.assertStatus(r, 200)

    def test_revoke_leaves_other_sessions_alone(self):
        u = yq.new_user()
        other = yq.login(u.username, u.password)
        self.assertStatus(other, 200)
        self.assertStatus(yq.post("/token/revoke", {"refresh_token":
                                                    u.refresh},
                                  token=u.access), 204)
        r = yq.post("/token/refresh",
                    {"refresh_token": other.json["refresh_token"]})
        self.assertStatus(r, 200)

    def test_revoke_missing_field_is_422(self):
        u = yq.new_user()
        self.assert422(yq.post("/token/revoke", {}, token=u.access),
                       loc=["body", "refresh_token"])


class WsTicketTest(ApiTest):

    def test_ticket(self):
        u = yq.new_user()
        r = yq.post("/token/ws-ticket", token=u.access)
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json["ticket"], str)
        self.assertTrue(r.json["ticket"])
        self.assertEqual(r.json["expires_in"], 30)
        r2 = yq.post("/token/ws-ticket", token=u.access)
        self.assertStatus(r2, 200)
        self.assertNotEqual(r.json["ticket"], r2.json["ticket"])

    def test_ticket_with_empty_json_body(self):
        u = yq.new_user()
        r = yq.post("/token/ws-ticket", {}, token=u.access)
        self.assertStatus(r, 200)

    def test_ticket_needs_bearer(self):
        self.assert401(yq.post("/token/ws-ticket"))
        self.assert401(yq.post("/token/ws-ticket", token="garbage"))
