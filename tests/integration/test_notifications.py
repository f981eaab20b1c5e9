"""The notification center over REST, and its event_queue rows (SPEC §4).

Notifications are created the way an operator does it, with
`yiqikanctl notify USER TYPE JSON` (YQ_CTL), and read back through
/notifications/.  Each test uses fresh users, so a user's list holds exactly
the notifications the test made.  The queue tests look at event_queue with
root SQL (YQ_DB_SOCKET): every notification gets exactly one queue row whose
payload is the object GET /notifications/ shows.
"""

import base64
import json
import time

import yq
from yq import ApiTest

ITEM_KEYS = {"id", "type", "content", "status", "created_at", "read_at"}
TYPES = {"room_invite", "room_application", "application_approved",
         "application_rejected", "invitation_accepted", "invitation_declined",
         "member_kicked", "room_dissolved", "role_changed", "system"}

# Content that is easy to mangle on the way through C, MariaDB and back.
RICH_CONTENT = {
    "text": "中文 😀 \"quoted\" back\\slash \u0001 </script> \u2028",
    "nested": {"a": [1, 2.5, 0.1, True, False, None, {"deep": []}]},
    "big": 2 ** 53 + 1,
    "neg": -17,
    "exp": 1e300,
    "empty": {},
    "inviter": {"id": 7, "username": "some.one"},
}


def b64(s):
    return base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode()


class NotificationsBase(ApiTest):

    def setUp(self):
        # per test, so that each one fails (never skips) without YQ_CTL
        yq.require_ctl()

    def notify(self, user, content=None, type_="system"):
        return yq.ctl_notify(user, type_, content if content is not None
                             else {"n": yq.rand_str(6)})

    def make(self, user, n, type_="system"):
        """n notifications, oldest first: [(id, content)]."""
        out = []
        for i in range(n):
            c = {"i": i, "tag": yq.rand_str(6)}
            out.append((self.notify(user, c, type_), c))
        return out

    def assertItem(self, item):
        self.assertIsInstance(item, dict)
        self.assertEqual(set(item), ITEM_KEYS, "item keys: %r" % (item,))
        self.assertIsInstance(item["id"], int)
        self.assertIn(item["type"], TYPES)
        self.assertIsInstance(item["content"], dict)
        self.assertIn(item["status"], ("unread", "read"))
        self.assertTime(item["created_at"])
        if item["status"] == "unread":
            self.assertIsNone(item["read_at"], "%r" % (item,))
        else:
            self.assertTime(item["read_at"])

    def page(self, user, **params):
        """GET /notifications/ with params; assert the shape; return json."""
        qs = "&".join("%s=%s" % kv for kv in params.items())
        r = yq.get("/notifications/" + ("?" + qs if qs else ""),
                   token=user.access)
        self.assertStatus(r, 200)
        body = r.json
        self.assertIsInstance(body, dict, "%r" % r)
        for k in ("items", "next_cursor", "unread_count"):
            self.assertIn(k, body, "%r" % r)
        self.assertIsInstance(body["items"], list)
        self.assertIsInstance(body["unread_count"], int)
        if body["next_cursor"] is not None:
            self.assertIsInstance(body["next_cursor"], str)
            self.assertTrue(body["next_cursor"])
        for item in body["items"]:
            self.assertItem(item)
        ids = [i["id"] for i in body["items"]]
        self.assertEqual(ids, sorted(ids, reverse=True),
                         "not newest first: %r" % ids)
        return body

    def all_items(self, user, status=None, limit=100):
        """Every item, following next_cursor to the end."""
        items, cursor, seen = [], None, 0
        while True:
            params = {"limit": limit}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            body = self.page(user, **params)
            items += body["items"]
            cursor = body["next_cursor"]
            seen += 1
            self.assertLess(seen, 1000, "paging does not end")
            if cursor is None:
                return items

    def ids(self, user, status=None):
        return [i["id"] for i in self.all_items(user, status)]

    def unread_count(self, user):
        return self.page(user)["unread_count"]

    def read(self, user, nid):
        r = yq.put("/notifications/%d/read" % nid, token=user.access)
        self.assertStatus(r, 200)
        self.assertItem(r.json)
        return r.json


class ListTest(NotificationsBase):

    def test_newest_first_shape_and_content(self):
        u = yq.new_user()
        self.assertEqual(self.page(u), {"items": [], "next_cursor": None,
                                        "unread_count": 0})
        sent = [
            ("system", {"text": "hello"}),
            ("room_invite", {"room_id": 12, "room_name": "Movie night",
                             "invitation_id": 99,
                             "inviter": {"id": 3, "username": "bob"}}),
            ("role_changed", RICH_CONTENT),
        ]
        ids = [self.notify(u, c, t) for t, c in sent]
        self.assertEqual(ids, sorted(ids), "ids not increasing: %r" % ids)
        body = self.page(u)
        self.assertIsNone(body["next_cursor"])
        self.assertEqual(body["unread_count"], 3)
        r = yq.get("/notifications", token=u.access)     # no trailing slash
        self.assertStatus(r, 200)
        self.assertEqual(r.json, body)
        self.assertEqual([i["id"] for i in body["items"]], ids[::-1])
        for item, (t, c) in zip(body["items"], sent[::-1]):
            self.assertEqual(item["type"], t)
            self.assertEqual(item["content"], c, "content not what was sent")
            self.assertEqual(item["status"], "unread")
            self.assertIsNone(item["read_at"])

    def test_status_filter(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 5)]
        for nid in made[1::2]:
            self.read(u, nid)
        unread = made[0::2][::-1]
        read = made[1::2][::-1]
        self.assertEqual(self.ids(u, "unread"), unread)
        self.assertEqual(self.ids(u, "read"), read)
        self.assertEqual(self.ids(u, "all"), made[::-1])
        self.assertEqual(self.ids(u), made[::-1])
        for status in ("unread", "read", "all"):
            body = self.page(u, status=status)
            self.assertEqual(body["unread_count"], 3,
                             "unread_count depends on the filter")
            for item in body["items"]:
                if status != "all":
                    self.assertEqual(item["status"], status)

    def test_bad_status_is_422(self):
        u = yq.new_user()
        for bad in ("bogus", "READ", "", "unread,read", "deleted", "1"):
            with self.subTest(status=bad):
                r = yq.get("/notifications/?status=" + bad, token=u.access)
                self.assert422(r, loc=["query", "status"])

    def test_bad_limit_is_422(self):
        u = yq.new_user()
        for bad in ("0", "101", "abc", "-1", "1.5", "", "1e1",
                    "99999999999999999999"):
            with self.subTest(limit=bad):
                r = yq.get("/notifications/?limit=" + bad, token=u.access)
                self.assert422(r, loc=["query", "limit"])
        for ok in ("1", "100"):
            with self.subTest(limit=ok):
                self.page(u, limit=ok)

    def test_keyset_paging(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 25)]
        expected = made[::-1]
        for limit, sizes in ((10, [10, 10, 5]), (5, [5, 5, 5, 5, 5]),
                             (25, [25]), (24, [24, 1]), (100, [25])):
            with self.subTest(limit=limit):
                got, cursor, pages = [], None, []
                while True:
                    params = {"limit": limit}
                    if cursor:
                        params["cursor"] = cursor
                    body = self.page(u, **params)
                    pages.append(len(body["items"]))
                    got += [i["id"] for i in body["items"]]
                    cursor = body["next_cursor"]
                    if cursor is None:
                        break
                    self.assertLess(len(pages), 30)
                self.assertEqual(pages, sizes, "page sizes")
                self.assertEqual(len(got), len(set(got)), "repeated rows")
                self.assertEqual(got, expected, "gaps or wrong order")

    def test_paging_while_notifications_arrive(self):
        u = yq.new_user()
        old = [nid for nid, _ in self.make(u, 15)][::-1]
        p1 = self.page(u, limit=5)
        got = [i["id"] for i in p1["items"]]
        self.assertEqual(got, old[:5])
        new = [nid for nid, _ in self.make(u, 3)]
        # also delete a row already shown and read one still to come
        self.assertStatus(yq.delete("/notifications/%d" % old[1],
                                    token=u.access), 204)
        self.read(u, old[12])
        p2 = self.page(u, limit=5, cursor=p1["next_cursor"])
        new2 = [nid for nid, _ in self.make(u, 2)]
        p3 = self.page(u, limit=5, cursor=p2["next_cursor"])
        self.assertIsNone(p3["next_cursor"])
        got += [i["id"] for i in p2["items"]] + [i["id"] for i in p3["items"]]
        self.assertEqual(got, old, "older rows repeated or skipped while "
                                   "new ones arrived")
        self.assertEqual(p3["items"][2]["status"], "read")
        for nid in new + new2:
            self.assertNotIn(nid, got)
        # a fresh listing starts with the new ones, without the deleted one
        first = self.page(u, limit=5)
        self.assertEqual([i["id"] for i in first["items"]],
                         (new + new2)[::-1])
        everything = self.ids(u)
        self.assertEqual(everything, (new + new2)[::-1] +
                         [x for x in old if x != old[1]])

    def test_paging_with_status_filter(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 12)]
        for nid in made[::3]:
            self.read(u, nid)
        unread = [x for x in made if x not in made[::3]][::-1]
        got, cursor = [], None
        while True:
            params = {"limit": 3, "status": "unread"}
            if cursor:
                params["cursor"] = cursor
            body = self.page(u, **params)
            got += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(got, unread)

    def test_bad_cursor(self):
        u = yq.new_user()
        self.make(u, 2)
        for bad in ("abc", "!!!!", "%00", "%ff", b64("abc"), b64("12x"),
                    b64("9" * 30), "A" * 300, "Zm9v.YmFy", b64("1\x00")):
            with self.subTest(cursor=bad):
                r = yq.get("/notifications/?cursor=" + bad, token=u.access)
                self.assertIn(r.status, (400, 422), "%r" % r)
                if r.status == 422:
                    self.assert422(r, loc=["query", "cursor"])
                else:
                    self.assertDetail(r, 400)

    def test_cursor_cannot_reach_other_users(self):
        a = yq.new_user()
        b = yq.new_user()
        mine = self.notify(b)
        self.make(a, 3)
        cursor = self.page(a, limit=1)["next_cursor"]
        self.assertIsNotNone(cursor)
        # a's cursor used by b pages b's own list only
        body = self.page(b, cursor=cursor)
        self.assertEqual([i["id"] for i in body["items"]], [mine])


class ReadTest(NotificationsBase):

    def test_mark_read(self):
        u = yq.new_user()
        (n1, c1), (n2, _) = self.make(u, 2)
        before = {i["id"]: i for i in self.all_items(u)}
        self.assertEqual(self.unread_count(u), 2)
        item = self.read(u, n1)
        self.assertEqual(item["id"], n1)
        self.assertEqual(item["status"], "read")
        self.assertTime(item["read_at"])
        self.assertEqual(item["content"], c1)
        for k in ("type", "content", "created_at"):
            self.assertEqual(item[k], before[n1][k])
        self.assertEqual(self.unread_count(u), 1)
        listed = {i["id"]: i for i in self.all_items(u)}
        self.assertEqual(listed[n1], item)
        self.assertEqual(listed[n2]["status"], "unread")
        # idempotent: same answer, read_at kept
        time.sleep(1.1)
        again = self.read(u, n1)
        self.assertEqual(again, item)
        self.assertEqual(self.unread_count(u), 1)

    def test_read_all(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 5)]
        first = self.read(u, made[0])
        self.assertStatus(yq.delete("/notifications/%d" % made[1],
                                    token=u.access), 204)
        time.sleep(1.1)
        r = yq.put("/notifications/read-all", token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"updated": 3})
        body = self.page(u)
        self.assertEqual(body["unread_count"], 0)
        self.assertEqual([i["id"] for i in body["items"]],
                         [made[4], made[3], made[2], made[0]])
        for item in body["items"]:
            self.assertEqual(item["status"], "read")
            self.assertTime(item["read_at"])
        self.assertEqual(body["items"][-1]["read_at"], first["read_at"],
                         "read-all changed read_at of an already read row")
        r = yq.put("/notifications/read-all", token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"updated": 0})
        self.assertEqual(self.ids(u, "unread"), [])

    def test_read_all_with_nothing(self):
        u = yq.new_user()
        r = yq.put("/notifications/read-all", token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"updated": 0})


class DeleteTest(NotificationsBase):

    def test_delete_one(self):
        u = yq.new_user()
        (n1, _), (n2, _) = self.make(u, 2)
        r = yq.delete("/notifications/%d" % n1, token=u.access)
        self.assertStatus(r, 204)
        self.assertEqual(r.raw, b"")
        self.assertDetail(yq.delete("/notifications/%d" % n1,
                                    token=u.access), 404)
        self.assertDetail(yq.put("/notifications/%d/read" % n1,
                                 token=u.access), 404)
        self.assertEqual(self.ids(u), [n2])
        self.assertEqual(self.ids(u, "unread"), [n2])
        self.assertEqual(self.ids(u, "read"), [])
        self.assertEqual(self.unread_count(u), 1)
        # a deleted unread row is not counted by read-all either
        r = yq.put("/notifications/read-all", token=u.access)
        self.assertEqual(r.json, {"updated": 1})

    def test_delete_read_one(self):
        u = yq.new_user()
        (n1, _), = self.make(u, 1)
        self.read(u, n1)
        self.assertStatus(yq.delete("/notifications/%d" % n1,
                                    token=u.access), 204)
        self.assertEqual(self.ids(u), [])

    def test_clear_read_only(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 4)]
        self.read(u, made[0])
        self.read(u, made[2])
        r = yq.delete("/notifications/clear?status=read", token=u.access)
        self.assertStatus(r, 204)
        self.assertEqual(r.raw, b"")
        self.assertEqual(self.ids(u), [made[3], made[1]])
        self.assertEqual(self.unread_count(u), 2)
        self.assertDetail(yq.put("/notifications/%d/read" % made[0],
                                 token=u.access), 404)
        r = yq.delete("/notifications/clear?status=read", token=u.access)
        self.assertStatus(r, 204)
        self.assertEqual(self.ids(u), [made[3], made[1]])

    def test_clear_all(self):
        u = yq.new_user()
        made = [nid for nid, _ in self.make(u, 3)]
        self.read(u, made[1])
        self.assertStatus(yq.delete("/notifications/clear", token=u.access),
                          204)
        self.assertEqual(self.page(u), {"items": [], "next_cursor": None,
                                        "unread_count": 0})
        for nid in made:
            self.assertDetail(yq.delete("/notifications/%d" % nid,
                                        token=u.access), 404)
        # clearing an empty list is fine too; new ones still arrive
        self.assertStatus(yq.delete("/notifications/clear/", token=u.access),
                          204)
        n = self.notify(u)
        self.assertEqual(self.ids(u), [n])

    def test_clear_bad_status(self):
        u = yq.new_user()
        (n1, _), = self.make(u, 1)
        for bad in ("bogus", "", "READ"):
            with self.subTest(status=bad):
                r = yq.delete("/notifications/clear?status=" + bad,
                              token=u.access)
                self.assert422(r, loc=["query", "status"])
        self.assertEqual(self.ids(u), [n1], "a rejected clear deleted rows")


class AccessTest(NotificationsBase):

    def test_other_users_notification_is_404(self):
        a = yq.new_user()
        b = yq.new_user()
        na = self.notify(a, {"secret": "for a only"})
        nb = self.notify(b)
        snapshot = self.page(a)
        self.assertEqual([i["id"] for i in snapshot["items"]], [na])
        self.assertDetail(yq.delete("/notifications/%d" % nb,
                                    token=a.access), 404)
        self.assertDetail(yq.put("/notifications/%d/read" % nb,
                                 token=a.access), 404)
        self.assertDetail(yq.put("/notifications/%d/read" % na,
                                 token=b.access), 404)
        self.assertDetail(yq.delete("/notifications/%d" % na,
                                    token=b.access), 404)
        r = yq.put("/notifications/read-all", token=b.access)
        self.assertEqual(r.json, {"updated": 1})
        self.assertStatus(yq.delete("/notifications/clear", token=b.access),
                          204)
        self.assertEqual(self.ids(b), [])
        for status in ("all", "unread", "read"):
            body = self.page(b, status=status)
            self.assertNotIn(b"for a only", json.dumps(body).encode())
        # a's notification is untouched
        self.assertEqual(self.page(a), snapshot)
        self.assertEqual(snapshot["items"][0]["status"], "unread")
        self.assertEqual(snapshot["unread_count"], 1)

    def test_non_numeric_ids(self):
        u = yq.new_user()
        (n1, _), = self.make(u, 1)
        for ident in ("abc", "1abc", "-1", "0", "1.5", "0x10", "%20",
                      "99999999999999999999999", "%d%%20" % n1):
            with self.subTest(ident=ident):
                r = yq.put("/notifications/%s/read" % ident, token=u.access)
                self.assertIn(r.status, (400, 404, 422), "%r" % r)
                r = yq.delete("/notifications/%s" % ident, token=u.access)
                self.assertIn(r.status, (400, 404, 405, 422), "%r" % r)
        # the literal routes are not ids of another method
        r = yq.delete("/notifications/read-all", token=u.access)
        self.assertIn(r.status, (404, 405, 422), "%r" % r)
        r = yq.put("/notifications/clear/read", token=u.access)
        self.assertIn(r.status, (404, 422), "%r" % r)
        self.assertEqual(self.ids(u), [n1])
        self.assertEqual(self.unread_count(u), 1)

    def test_every_endpoint_needs_bearer(self):
        u = yq.new_user()
        (n1, _), = self.make(u, 1)
        calls = [("GET", "/notifications/"),
                 ("GET", "/notifications/?status=unread"),
                 ("PUT", "/notifications/%d/read" % n1),
                 ("PUT", "/notifications/read-all"),
                 ("DELETE", "/notifications/%d" % n1),
                 ("DELETE", "/notifications/clear"),
                 ("DELETE", "/notifications/clear?status=read")]
        for method, path in calls:
            for token in (None, "garbage", u.access + "x"):
                with self.subTest(method=method, path=path, token=token):
                    self.assert401(yq.request(method, path, token=token))
        body = self.page(u)
        self.assertEqual([i["id"] for i in body["items"]], [n1])
        self.assertEqual(body["unread_count"], 1)


class CtlNotifyTest(NotificationsBase):

    def assertNothingFor(self, user):
        self.assertEqual(self.page(user)["items"], [])

    def test_prints_the_id(self):
        u = yq.new_user()
        nid = self.notify(u, {"by": "id"})
        nid2 = self.notify(u.username, {"by": "name"})
        items = self.page(u)["items"]
        self.assertEqual([(i["id"], i["content"]) for i in items],
                         [(nid2, {"by": "name"}), (nid, {"by": "id"})])

    def test_every_type(self):
        u = yq.new_user()
        for t in sorted(TYPES):
            self.notify(u, {"t": t}, t)
        items = self.all_items(u)
        self.assertEqual(sorted(i["type"] for i in items), sorted(TYPES))
        for i in items:
            self.assertEqual(i["content"], {"t": i["type"]})

    def test_unknown_type(self):
        u = yq.new_user()
        for t in ("bogus", "", "SYSTEM", "system ", "notification"):
            with self.subTest(type=t):
                p = yq.ctl("notify", u.id, t, '{"a":1}')
                self.assertNotEqual(p.returncode, 0, "%r" % (p,))
                self.assertNotIn("notification ", p.stdout)
        self.assertNothingFor(u)

    def test_non_object_content(self):
        u = yq.new_user()
        for c in ("[1,2]", '"text"', "42", "null", "true", "not json",
                  '{"a":', "", '{"a":1} x', "{} {}"):
            with self.subTest(content=c):
                p = yq.ctl("notify", u.id, "system", c)
                self.assertNotEqual(p.returncode, 0, "%r" % (p,))
        self.assertNothingFor(u)

    def test_unknown_user(self):
        yq.require_db()
        tag = "nobody-" + yq.rand_str(12)
        content = json.dumps({"tag": tag})
        for who in ("2147483646", "9223372036854775807", yq.rand_name(),
                    "0", "-1"):
            with self.subTest(user=who):
                p = yq.ctl("notify", who, "system", content)
                self.assertNotEqual(p.returncode, 0, "%r" % (p,))
        like = yq.sql_quote("%" + tag + "%")
        self.assertEqual(yq.sql_int(
            "SELECT COUNT(*) FROM notifications WHERE content LIKE %s;"
            % like), 0)
        self.assertEqual(yq.sql_int(
            "SELECT COUNT(*) FROM event_queue WHERE payload LIKE %s;"
            % like), 0)

    def test_usage_errors(self):
        for args in ((), ("only-user",), ("u", "system"),
                     ("u", "system", "{}", "extra")):
            with self.subTest(args=args):
                p = yq.ctl("notify", *args)
                self.assertNotEqual(p.returncode, 0, "%r" % (p,))

    def test_all_reaches_a_new_user(self):
        yq.require_db()
        u = yq.new_user()
        v = yq.new_user()
        content = {"text": "maintenance", "run": yq.rand_str(12)}
        p = yq.ctl("notify", "--all", "system", json.dumps(content),
                   timeout=600)
        self.assertEqual(p.returncode, 0, "%r" % (p,))
        for user in (u, v):
            items = self.page(user)["items"]
            self.assertEqual(len(items), 1, "%r" % (items,))
            self.assertEqual(items[0]["type"], "system")
            self.assertEqual(items[0]["content"], content)
            self.assertEqual(yq.sql_int(
                "SELECT COUNT(*) FROM event_queue WHERE target_kind = 'user' "
                "AND target_id = %d AND type = 'notification';" % user.id), 1)
        # every user got exactly one
        like = yq.sql_quote("%" + content["run"] + "%")
        rows = yq.sql("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM "
                      "notifications WHERE content LIKE %s;" % like)
        self.assertEqual(rows[0][0], rows[0][1], "someone got it twice")
        self.assertGreaterEqual(int(rows[0][0]), 2)


class QueueRowTest(NotificationsBase):
    """Each notification has exactly one queue row carrying its REST view."""

    def setUp(self):
        yq.require_ctl()
        yq.require_db()

    def queue_rows(self, user):
        rows = yq.sql(
            "SELECT id, target_kind, target_id, type, origin, payload, "
            "UNIX_TIMESTAMP(created_at) FROM event_queue "
            "WHERE target_kind = 'user' AND target_id = %d ORDER BY id;"
            % user.id)
        return rows

    def test_one_row_per_notification_with_the_rest_view(self):
        u = yq.new_user()
        sent = [("system", {"text": "hi"}),
                ("room_invite", {"room_id": 4, "room_name": "R",
                                 "invitation_id": 8,
                                 "inviter": {"id": 1, "username": "x"}}),
                ("member_kicked", RICH_CONTENT)]
        ids = [self.notify(u, c, t) for t, c in sent]
        items = {i["id"]: i for i in self.page(u)["items"]}
        rows = self.queue_rows(u)
        self.assertEqual(len(rows), len(ids), "queue rows: %r" % (rows,))
        payload_ids = []
        for qid, kind, target, type_, origin, payload, created in rows:
            self.assertEqual(kind, "user")
            self.assertEqual(int(target), u.id)
            self.assertEqual(type_, "notification")
            self.assertEqual(origin, "")
            p = json.loads(payload)
            payload_ids.append(p.get("id"))
            self.assertIn(p.get("id"), items, "payload %r" % (p,))
            self.assertEqual(p, items[p["id"]],
                             "queue payload differs from the REST view")
            self.assertEqual(set(p), ITEM_KEYS)
            self.assertIsNone(p["read_at"])
            self.assertEqual(p["status"], "unread")
            self.assertLess(abs(float(created) - time.time()), 600)
        self.assertEqual(payload_ids, ids, "queue order differs from "
                                           "notification order")
        qids = [int(r[0]) for r in rows]
        self.assertEqual(qids, sorted(set(qids)))
