"""Shared helpers for the yiqikan black-box integration tests.

The tests talk to a running stack (nginx -> FastCGI pool -> MariaDB) over
plain HTTP, the way a browser or app would, and never look inside it.  The
runner (run.py) passes the stack's coordinates in the environment:

  YQ_BASE_URL  front end, e.g. http://127.0.0.1:18080 (the API is under /api)
  YQ_STATE     the stack's state directory (run/api.pid lives there)
  YQ_DEVSTACK  absolute path of ./devstack (db-stop / db-start)
  YQ_CONF      the stack's yiqikan.conf (rate limits are read from it)
  YQ_CTL       the yiqikanctl binary (notify, queue-tail, cleanup)
  YQ_DB_SOCKET the stack's MariaDB unix socket (root, no password)

request() is the one HTTP helper.  By default every request comes from a
fresh random loopback address (127.x.y.z) so that the per-address rate
limits of login and register are never tripped by accident; rate-limit
tests pass a fixed `source` instead.  Every response is checked against the
invariants that hold for the whole API (no 5xx except 503, JSON bodies with
a JSON content type, Retry-After on 429/503) before the test sees it, so a
test that forgets to check them still catches a violation.

new_user() registers a user with a unique random name and logs it in; each
test makes its own users, so tests are independent and can run in any order
against a database that already holds earlier runs.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import string
import subprocess
import time
import unittest
import urllib.parse
from datetime import datetime, timezone

BASE_URL = os.environ.get("YQ_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
API_PREFIX = "/api"
STATE = os.environ.get("YQ_STATE", "")
DEVSTACK = os.environ.get("YQ_DEVSTACK", "")
CONF = os.environ.get("YQ_CONF", "")
CTL = os.environ.get("YQ_CTL", "")
DB_SOCKET = os.environ.get("YQ_DB_SOCKET", "")

_url = urllib.parse.urlsplit(BASE_URL)
HOST = _url.hostname or "127.0.0.1"
PORT = _url.port or 80
# Whatever the base URL carries before /api (normally nothing).
BASE_PATH = _url.path.rstrip("/")

MAX_BODY = 64 * 1024
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

_rng = random.SystemRandom()
_NOTHING = object()


# --------------------------------------------------------------------------
# random values


def rand_str(n=10, alphabet=string.ascii_lowercase + string.digits):
    return "".join(_rng.choice(alphabet) for _ in range(n))


def rand_name(prefix="u_", n=10):
    """A username nobody else has: prefix + n random lowercase/digits."""
    return prefix + rand_str(n)


def rand_email(name=None):
    return "%s@example.com" % (name or rand_name("e_"))


def rand_password():
    return "pw-" + rand_str(16)


def random_source():
    """A random loopback source address 127.x.y.z, x, y, z in 1..254."""
    return "127.%d.%d.%d" % tuple(_rng.randint(1, 254) for _ in range(3))


# --------------------------------------------------------------------------
# HTTP


class Response:
    """What a test gets back: status, lower-cased headers, parsed JSON."""

    def __init__(self, method, path, status, headers, raw, elapsed):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.raw = raw
        self.elapsed = elapsed
        self.json = None
        ctype = headers.get("content-type", "")
        if raw and ctype.lower().startswith("application/json"):
            try:
                self.json = json.loads(raw.decode("utf-8"))
            except ValueError:
                self.json = None

    def __iter__(self):
        # (status, headers, json, raw, elapsed), so a test may unpack it.
        return iter((self.status, self.headers, self.json, self.raw,
                     self.elapsed))

    def __repr__(self):
        body = self.raw[:400].decode("utf-8", "replace")
        return "<%s %s -> %d %r (%.3fs)>" % (self.method, self.path,
                                             self.status, body, self.elapsed)

    @property
    def detail(self):
        if isinstance(self.json, dict):
            return self.json.get("detail")
        return None


def check_invariants(r):
    """Properties every API response has, whatever the request was."""
    if r.status >= 500 and r.status != 503:
        raise AssertionError("server error: %r" % (r,))
    if r.status == 204 and r.raw:
        raise AssertionError("204 with a body: %r" % (r,))
    if r.raw:
        ctype = r.headers.get("content-type", "")
        if not ctype.lower().startswith("application/json"):
            raise AssertionError("body is not served as application/json "
                                 "(Content-Type %r): %r" % (ctype, r))
        if r.json is None and r.raw.strip() != b"null":
            raise AssertionError("body is not valid JSON: %r" % (r,))
    if r.status in (429, 503):
        ra = r.headers.get("retry-after")
        if ra is None or not re.fullmatch(r"\s*\d+\s*", ra) or int(ra) <= 0:
            raise AssertionError("%d without a positive integer Retry-After "
                                 "(got %r): %r" % (r.status, ra, r))


def request(method, path, json_body=_NOTHING, body=None, form=None,
            headers=None, token=None, content_type=None, source=None,
            timeout=15, check=True, api=True):
    """Send one request; return a Response.

    path is the API path ('/users/me'); '/api' is prepended unless api=False.
    json_body is serialised as JSON; body is sent as raw bytes; form is
    url-encoded.  content_type overrides the Content-Type the body kind
    implies.  token adds 'Authorization: Bearer <token>'.  source is the
    local address to connect from (default: a random 127.x.y.z).
    """
    hdrs = {"Accept": "application/json", "Connection": "close"}
    data = None
    if json_body is not _NOTHING:
        data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode("ascii")
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = body if isinstance(body, bytes) else body.encode("utf-8")
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if headers:
        hdrs.update(headers)
    if data is None and method in ("POST", "PUT", "PATCH"):
        data = b""
    full = BASE_PATH + (API_PREFIX if api else "") + path
    src = source or random_source()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout,
                                      source_address=(src, 0))
    t0 = time.monotonic()
    try:
        try:
            conn.request(method, full, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413) and close before reading the body.
            pass
        resp = conn.getresponse()
        raw = resp.read()
        elapsed = time.monotonic() - t0
        hmap = {}
        for k, v in resp.getheaders():
            k = k.lower()
            hmap[k] = hmap[k] + ", " + v if k in hmap else v
    finally:
        conn.close()
    r = Response(method, path, resp.status, hmap, raw, elapsed)
    if check:
        check_invariants(r)
    return r


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, json_body=_NOTHING, **kw):
    return request("POST", path, json_body=json_body, **kw)


def put(path, json_body=_NOTHING, **kw):
    return request("PUT", path, json_body=json_body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


# --------------------------------------------------------------------------
# users and tokens


class User:
    """A registered test user, with its tokens once logged in."""

    def __init__(self, username, email, password, profile):
        self.username = username
        self.email = email
        self.password = password
        self.profile = profile
        self.id = profile["id"]
        self.access = None
        self.refresh = None
        self.tokens = None

    def __repr__(self):
        return "<User %s id=%s>" % (self.username, self.id)


def register(username=None, email=None, password=None, source=None, **extra):
    """POST /users/ with the given (or random) fields; return the Response."""
    body = {
        "username": username if username is not None else rand_name(),
        "email": email if email is not None else rand_email(),
        "password": password if password is not None else rand_password(),
    }
    body.update(extra)
    return post("/users/", body, source=source)


def login(username, password, form=True, source=None, **kw):
    """POST /token with the OAuth2 password form (or JSON)."""
    fields = {"username": username, "password": password}
    if form:
        return post("/token", form=fields, source=source, **kw)
    return post("/token", fields, source=source, **kw)


def register_user(username=None, email=None, password=None, **extra):
    """Register a fresh user (not logged in); fail loudly if it doesn't work."""
    username = username or rand_name()
    email = email or rand_email()
    password = password or rand_password()
    r = register(username, email, password, **extra)
    if r.status != 201 or not isinstance(r.json, dict) or "id" not in r.json:
        raise AssertionError("could not register %s: %r" % (username, r))
    return User(username, email, password, r.json)


def new_user(**kw):
    """Register a fresh user and log it in (one login)."""
    u = register_user(**kw)
    r = login(u.username, u.password)
    if r.status != 200 or not isinstance(r.json, dict) \
            or "access_token" not in r.json:
        raise AssertionError("could not log in %s: %r" % (u.username, r))
    u.tokens = r.json
    u.access = r.json["access_token"]
    u.refresh = r.json["refresh_token"]
    return u


# --------------------------------------------------------------------------
# JWT pieces (to build forged tokens; we never know the real key)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def jwt_encode(header, payload, signature=""):
    return "%s.%s.%s" % (
        b64url_encode(json.dumps(header, separators=(",", ":")).encode()),
        b64url_encode(json.dumps(payload, separators=(",", ":")).encode()),
        signature)


def jwt_sign_hs256(header, payload, key):
    unsigned = jwt_encode(header, payload)[:-1]
    sig = hmac.new(key, unsigned.encode("ascii"), hashlib.sha256).digest()
    return unsigned + "." + b64url_encode(sig)


# --------------------------------------------------------------------------
# configuration of the stack under test


def read_conf(path=None):
    """Parse the INI-style yiqikan.conf: {section: {key: value}}."""
    path = path or CONF
    sections = {"": {}}
    cur = sections[""]
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                cur = sections.setdefault(s[1:-1].strip().lower(), {})
                continue
            if "=" not in s:
                continue
            k, v = s.split("=", 1)
            v = re.split(r"\s+#", v.strip(), maxsplit=1)[0].strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            cur[k.strip().lower()] = v
    return sections


SAMPLE_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, os.pardir, "etc", "yiqikan.conf.sample")


def rate_limit(key):
    """(count, seconds) of [ratelimit] <key>, or None if nowhere set.

    YQ_CONF wins; a key it does not set has the default documented in
    etc/yiqikan.conf.sample.  A count of 0 means the limit is disabled.
    """
    for path in (CONF, SAMPLE_CONF):
        if not path or not os.path.exists(path):
            continue
        v = read_conf(path).get("ratelimit", {}).get(key)
        if not v:
            continue
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", v)
        if not m:
            raise AssertionError("cannot parse [ratelimit] %s = %r in %s"
                                 % (key, v, path))
        return int(m.group(1)), int(m.group(2))
    return None


def parse_time(s):
    """An API time string -> aware datetime (asserts the format)."""
    if not isinstance(s, str) or not TIME_RE.match(s):
        raise AssertionError("not an ISO 8601 UTC time like "
                             "2026-11-23T08:00:00Z: %r" % (s,))
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# assertions


class ApiTest(unittest.TestCase):
    """Base class with the assertions the API tests share."""

    maxDiff = 2000

    def assertStatus(self, r, *statuses):
        self.assertIn(r.status, statuses, "unexpected status: %r" % (r,))

    def assertDetail(self, r, *statuses):
        """An error: one of statuses, {"detail": "<non-empty string>"}."""
        self.assertStatus(r, *statuses)
        self.assertIsInstance(r.json, dict, "error body not an object: %r"
                              % (r,))
        self.assertIn("detail", r.json, "error without detail: %r" % (r,))
        d = r.json["detail"]
        if r.status == 422:
            self.assertIsInstance(d, list, "%r" % (r,))
        else:
            self.assertIsInstance(d, str, "detail not a string: %r" % (r,))
            self.assertTrue(d, "empty detail: %r" % (r,))

    def assert422(self, r, loc=None):
        """A FastAPI validation error, naming `loc` if given."""
        self.assertStatus(r, 422)
        self.assertIsInstance(r.json, dict, "%r" % (r,))
        d = r.json.get("detail")
        self.assertIsInstance(d, list, "422 detail not a list: %r" % (r,))
        self.assertTrue(d, "422 with an empty detail list: %r" % (r,))
        for item in d:
            self.assertIsInstance(item, dict, "%r" % (r,))
            self.assertIsInstance(item.get("loc"), list, "%r" % (r,))
            self.assertIsInstance(item.get("msg"), str, "%r" % (r,))
            self.assertIsInstance(item.get("type"), str, "%r" % (r,))
        if loc is not None:
            locs = [item["loc"] for item in d]
            self.assertIn(list(loc), locs, "422 does not name %r: %r"
                          % (list(loc), r))

    def assert401(self, r):
        """401 with detail and 'WWW-Authenticate: Bearer'."""
        self.assertDetail(r, 401)
        wa = r.headers.get("www-authenticate", "")
        self.assertTrue(wa.lower().startswith("bearer"),
                        "401 without WWW-Authenticate: Bearer: %r %r"
                        % (wa, r))

    def assertRetryAfter(self, r, max_seconds=None):
        ra = r.headers.get("retry-after")
        self.assertIsNotNone(ra, "no Retry-After: %r" % (r,))
        self.assertRegex(ra.strip(), r"^\d+$")
        self.assertGreater(int(ra), 0)
        if max_seconds is not None:
            self.assertLessEqual(int(ra), max_seconds + 1,
                                 "Retry-After longer than the window: %r"
                                 % (r,))

    def assertTime(self, s, near_now=True):
        t = parse_time(s)
        if near_now:
            skew = abs((datetime.now(timezone.utc) - t).total_seconds())
            self.assertLess(skew, 600, "time %s is not about now (UTC)" % s)
        return t

    def assertNoSecrets(self, r, password=None):
        """No password or hash anywhere in a user-bearing body."""
        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    self.assertNotIn("password", k.lower(), "%r" % (r,))
                    self.assertNotIn("hash", k.lower(), "%r" % (r,))
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(r.json)
        self.assertNotIn(b"$argon2", r.raw)
        if password:
            self.assertNotIn(password.encode("utf-8"), r.raw)


# --------------------------------------------------------------------------
# yiqikanctl and root SQL access (YQ_CTL, YQ_DB_SOCKET)
#
# Tests that need them fail (never skip) when the runner did not pass them,
# so a misconfigured run cannot look green.


def require_ctl():
    if not CTL:
        raise AssertionError("YQ_CTL is not set: this test needs the path of "
                             "the yiqikanctl binary")
    if not os.access(CTL, os.X_OK):
        raise AssertionError("YQ_CTL=%r is not an executable file" % CTL)
    if not CONF or not os.path.exists(CONF):
        raise AssertionError("YQ_CONF=%r does not exist: yiqikanctl needs "
                             "the stack's config" % CONF)


def require_db():
    if not DB_SOCKET:
        raise AssertionError("YQ_DB_SOCKET is not set: this test needs root "
                             "SQL access to the stack's MariaDB")
    if not os.path.exists(DB_SOCKET):
        raise AssertionError("YQ_DB_SOCKET=%r does not exist" % DB_SOCKET)
    if not shutil.which("mariadb"):
        raise AssertionError("the mariadb command-line client is not "
                             "installed")


def ctl_argv(*args):
    require_ctl()
    return [CTL, "-c", CONF] + [str(a) for a in args]


def ctl(*args, timeout=120):
    """Run yiqikanctl; return the CompletedProcess (text stdout/stderr)."""
    return subprocess.run(ctl_argv(*args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def ctl_popen(*args, **kw):
    """Start yiqikanctl in the background (stdout and stderr piped unless
    kw says otherwise)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(ctl_argv(*args), stdin=subprocess.DEVNULL,
                            text=True, **kw)


def ctl_notify(user, type_, content):
    """`yiqikanctl notify USER TYPE JSON`; assert success, return the id.

    user is an id, a username or a User; content a dict (serialised here)
    or a string passed as is.
    """
    if isinstance(user, User):
        user = user.id
    text = content if isinstance(content, str) else \
        json.dumps(content, ensure_ascii=False)
    p = ctl("notify", user, type_, text)
    m = re.search(r"^notification (\d+)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise AssertionError("yiqikanctl notify %s %s %s failed (exit %d):\n"
                             "stdout: %s\nstderr: %s"
                             % (user, type_, text, p.returncode, p.stdout,
                                p.stderr))
    return int(m.group(1))


def mariadb_argv(*extra):
    """The root mariadb client for the stack's database."""
    require_db()
    return ["mariadb", "--socket=" + DB_SOCKET, "-uroot",
            "--default-character-set=utf8mb4"] + list(extra) + ["yiqikan"]


# Every root session works in UTC, as the server's own connections do, so
# that NOW(), FROM_UNIXTIME() and the DATETIME columns agree.
SQL_PRELUDE = "SET time_zone = '+00:00';\n"

_BATCH_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t",
                  "\\": "\\"}


def _unescape_field(f):
    if f == "NULL":
        return None
    return re.sub(r"\\(.)", lambda m: _BATCH_ESCAPES.get(m.group(1),
                                                         m.group(0)), f)


def sql(text, timeout=120):
    """Run SQL as root; return every result row as a list of str|None."""
    p = subprocess.run(mariadb_argv("-N", "-B"), input=SQL_PRELUDE + text,
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("root SQL failed (exit %d): %s\nSQL: %s"
                             % (p.returncode, p.stderr.strip(), text[:600]))
    return [[_unescape_field(f) for f in line.split("\t")]
            for line in p.stdout.split("\n") if line]


def sql_value(text, timeout=120):
    """The first column of the first row (None when there is no row)."""
    rows = sql(text, timeout=timeout)
    return rows[0][0] if rows else None


def sql_int(text, timeout=120):
    v = sql_value(text, timeout=timeout)
    return None if v is None else int(v)


def sql_quote(s):
    """A MariaDB string literal (default sql_mode: backslash escapes)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") \
        .replace("\0", "\\0") + "'"


def sql_popen(text=None, **kw):
    """Start a root mariadb client in the background, batch output.

    With text the script is written and stdin closed; without it stdin stays
    open so the test can feed statements one at a time (proc.stdin.write,
    flush)."""
    p = subprocess.Popen(mariadb_argv("-N", "-B"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, bufsize=1, **kw)
    p.stdin.write(SQL_PRELUDE)
    if text is not None:
        p.stdin.write(text)
        p.stdin.close()
        p.stdin = None      # so that communicate() does not touch it
    else:
        p.stdin.flush()
    return p


def conf_value(section, key, default):
    """[section] key from YQ_CONF, else the documented default."""
    v = None
    if CONF and os.path.exists(CONF):
        v = read_conf(CONF).get(section, {}).get(key)
    return v if v not in (None, "") else default


def conf_int(section, key, default):
    return int(conf_value(section, key, str(default)))



def api_master_pid():
    """The FastCGI pool's master (from $YQ_STATE/run/api.pid)."""
    with open(os.path.join(STATE, "run", "api.pid")) as f:
        return int(f.read().strip())


def live_children(ppid):
    """Pids of the non-zombie direct children of ppid (from /proc)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == ppid and fields[0] not in ("Z", "X"):
            kids.append(int(d))
    return sorted(kids)

def wait_for(pred, timeout, interval=0.01, what="condition"):
    """Poll pred() until it returns something true; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)
