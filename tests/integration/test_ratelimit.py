"""Rate limits on login and register (SPEC section 2).

The limits come from [ratelimit] in the stack's yiqikan.conf (YQ_CONF),
each `COUNT/SECONDS`: COUNT attempts are allowed in SECONDS, the next one
is a 429 with Retry-After.  Per-address tests send every attempt from one
fixed loopback address, chosen at random per test so that a rerun within
the window starts clean; per-username tests spread their attempts over
many addresses, so only the username can be what trips the limit.

The limits count in fixed windows aligned to multiples of SECONDS since the
epoch (the server's clock, which is this machine's).  A sequence of
attempts that a window boundary cuts in two starts over in the new window
and would not reach the limit; such a run proves nothing, so it is run
again with fresh names and addresses (run_in_one_window).  Nothing here
bounds how long the attempts take.
"""

import time

import yq
from yq import ApiTest

MAX_ATTEMPTS = 200      # refuse to hammer a stack configured with more


class RateLimitTest(ApiTest):

    def limit(self, key):
        lim = yq.rate_limit(key)
        if lim is None:
            self.skipTest("no [ratelimit] %s in YQ_CONF (%r) or the sample"
                          % (key, yq.CONF))
        count, seconds = lim
        if count == 0:
            self.skipTest("%s is disabled (0/%d)" % (key, seconds))
        if count > MAX_ATTEMPTS:
            self.skipTest("%s = %d/%d is too many to exhaust" % (key, count,
                                                                 seconds))
        return count, seconds

    def run_in_one_window(self, seconds, scenario, tries=3):
        """Run scenario() until one run happens within one rate-limit
        window; a failure in a run that a window boundary cut is retried."""
        for i in range(tries):
            w0 = int(time.time()) // seconds
            try:
                scenario()
                return
            except AssertionError:
                if int(time.time()) // seconds == w0 or i == tries - 1:
                    raise

    def assert429(self, r, seconds):
        self.assertDetail(r, 429)
        self.assertRetryAfter(r, seconds)

    def test_login_per_username(self):
        count, seconds = self.limit("login_user")

        def scenario():
            u = yq.register_user()
            for i in range(count):
                r = yq.login(u.username, "wrong-%d-%s" % (i, u.password))
                self.assertDetail(r, 401)
            self.assert429(yq.login(u.username, "wrong-again" + u.password),
                           seconds)
            # Blocked means blocked: the right password is refused too, from
            # any address, by form or JSON, and in any letter case (login is
            # case-insensitive, so the limit must be as well).
            self.assert429(yq.login(u.username, u.password), seconds)
            self.assert429(yq.login(u.username, u.password, form=False), seconds)
            self.assert429(yq.login(u.username.upper(), u.password), seconds)
            # Other users are not affected.
            other = yq.register_user()
            self.assertStatus(yq.login(other.username, other.password), 200)
        self.run_in_one_window(seconds, scenario)

    def spellings(self, name, email=None):
        """Every way of typing one login the ascii_general_ci columns
        accept as the same: letter case, trailing spaces, and the email."""
        out = [name, name + " ", name.upper() + "  ", name.capitalize() + "   "]
        if email:
            out += [email, email.upper() + " ", email + "  "]
        return out

    def test_login_per_account_whatever_the_spelling(self):
        # Defect 2: the throttle was keyed by the lower-cased string as
        # typed, so trailing spaces and the email each had their own bucket.
        count, seconds = self.limit("login_user")

        def scenario():
            u = yq.register_user()
            ways = self.spellings(u.username, u.email)
            for i in range(count):
                name = ways[i % len(ways)]
                r = yq.login(name, "wrong-%d-%s" % (i, u.password), form=i % 2 == 0)
                self.assertDetail(r, 401)
            for name in ways:
                for form in (True, False):
                    r = yq.login(name, u.password, form=form)
                    self.assertEqual(r.status, 429, "%r (form=%s): %r" % (name, form, r))
                    self.assertRetryAfter(r, seconds)
        self.run_in_one_window(seconds, scenario)

    def test_login_unknown_name_throttled_alike(self):
        # No account: the bucket is the name as the collation compares it,
        # so the 429 comes after as many attempts, with the same body, as
        # for an account; a 429 says nothing about whether the name exists.
        count, seconds = self.limit("login_user")

        def scenario():
            u = yq.register_user()
            ways = self.spellings(yq.rand_name("nx_"))
            answers = {"known": [], "unknown": []}
            for i in range(count + 1):
                answers["known"].append(yq.login(u.username, "wrong-%d" % i))
                answers["unknown"].append(yq.login(ways[i % len(ways)], "wrong-%d" % i))
            for kind, rs in answers.items():
                self.assertEqual([r.status for r in rs], [401] * count + [429], kind)
            for a, b in zip(answers["known"], answers["unknown"]):
                self.assertEqual(a.json, b.json)
                self.assertEqual(sorted(a.headers.keys() - {"x-request-id", "date"}),
                                 sorted(b.headers.keys() - {"x-request-id", "date"}))
            for name in ways:
                self.assert429(yq.login(name, "whatever-password"), seconds)
        self.run_in_one_window(seconds, scenario)

    def test_current_password_shares_the_account_bucket(self):
        # PUT /users/me's current_password check counts with the logins.
        count, seconds = self.limit("login_user")

        def scenario():
            u = yq.new_user()
            for i in range(count):
                self.assertDetail(yq.login(u.email.upper() + " ", "wrong-%d" % i), 401)
            r = yq.put("/users/me", {"email": yq.rand_email(),
                                     "current_password": u.password}, token=u.access)
            self.assert429(r, seconds)
        self.run_in_one_window(seconds, scenario)

    def test_login_per_address(self):
        count, seconds = self.limit("login_ip")

        def scenario():
            src = yq.random_source()
            for i in range(count):
                # Proxy headers from the client must not reset the count.
                fake = yq.random_source()
                r = yq.login(yq.rand_name("nx_"), "whatever-password",
                             source=src, headers={"X-Forwarded-For": fake,
                                                  "X-Real-IP": fake})
                self.assertDetail(r, 401)
            self.assert429(yq.login(yq.rand_name("nx_"), "whatever-password",
                                    source=src), seconds)
            # A real user from that address is blocked too...
            u = yq.register_user()
            self.assert429(yq.login(u.username, u.password, source=src), seconds)
            # ... and fine from any other address.
            self.assertStatus(yq.login(u.username, u.password), 200)
        self.run_in_one_window(seconds, scenario)

    def test_register_per_address(self):
        count, seconds = self.limit("register_ip")

        def scenario():
            src = yq.random_source()
            for i in range(count):
                self.assertStatus(yq.register(source=src), 201)
            name = yq.rand_name()
            self.assert429(yq.register(username=name, source=src), seconds)
            # The refused registration created nothing: the name is free
            # from another address.
            self.assertStatus(yq.register(username=name), 201)
        self.run_in_one_window(seconds, scenario)

    def test_register_per_username(self):
        count, seconds = self.limit("register_user")

        def scenario():
            name = yq.rand_name("rl_")
            statuses = [yq.register(username=name).status for _ in range(count)]
            self.assertEqual(statuses, [201] + [409] * (count - 1))
            self.assert429(yq.register(username=name), seconds)
        self.run_in_one_window(seconds, scenario)
