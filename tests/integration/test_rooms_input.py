"""Bad input on every room endpoint (SPEC sections 1 and 3).

Wrong JSON types, missing fields, unknown ids, other people's ids (IDOR),
strings over their limits, bodies over 64 KiB, SQL and LIKE metacharacters
(stored and returned verbatim), non-numeric path ids, no bearer, wrong
methods.  yq.request already fails any test that sees a 5xx (other than
503), so every case here also proves the API does not crash on it.
"""

import json
import urllib.parse

import yq
import yq_rooms as R

BIG = 10 ** 15          # an id nobody has

# Values that are not a positive integer id, as JSON.
BAD_IDS = ["1", 1.5, True, False, None, [1], {"id": 1}, 0, -1, "", "abc"]

# Values that are not a JSON boolean.
BAD_BOOLS = ["true", "false", 1, 0, [], {}, "yes"]

# Path segments that are not a decimal id (url-encoded where needed).
BAD_SEGMENTS = ["abc", "-1", "1.5", "0x10", "1e3", "%20", "1%20", "+1",
                "%EF%BC%91", "1abc", "a" * 300, "99999999999999999999999"]

SQL_NAMES = ["'; DROP TABLE rooms; --", "%_\\", "Robert'); DROP TABLE "
             "users;--", "\" OR \"1\"=\"1", "a`b`c", "\\'\\\"%%__",
             "中文 😀 </script>", "-- ", "/* x */ ;"]


def endpoints(room_id, user_id, app_id, inv_id):
    """(method, path, body) of every room endpoint."""
    return [
        ("POST", "/rooms/", {"name": "x"}),
        ("GET", "/rooms/", None),
        ("GET", "/rooms/%d" % room_id, None),
        ("DELETE", "/rooms/%d" % room_id, None),
        ("POST", "/rooms/join", {"room_id": room_id}),
        ("POST", "/rooms/leave", {"room_id": room_id}),
        ("POST", "/rooms/invite", {"room_id": room_id, "user_id": user_id}),
        ("POST", "/rooms/apply", {"room_id": room_id}),
        ("PUT", "/rooms/%d/config" % room_id, {"name": "y"}),
        ("GET", "/rooms/%d/members" % room_id, None),
        ("PUT", "/rooms/%d/members/%d" % (room_id, user_id),
         {"role": "moderator"}),
        ("DELETE", "/rooms/%d/members/%d" % (room_id, user_id), None),
        ("POST", "/rooms/%d/transfer" % room_id, {"user_id": user_id}),
        ("GET", "/rooms/%d/applications" % room_id, None),
        ("POST", "/rooms/%d/applications/%d/approve" % (room_id, app_id),
         None),
        ("POST", "/rooms/%d/applications/%d/reject" % (room_id, app_id),
         None),
        ("GET", "/rooms/invitations", None),
        ("POST", "/rooms/invitations/%d/decline" % inv_id, None),
        ("GET", "/rooms/%d/messages" % room_id, None),
    ]


def send(method, path, body, token):
    if body is None:
        return yq.request(method, path, token=token)
    return yq.request(method, path, json_body=body, token=token)


class InputBase(R.RoomTest):

    def world(self):
        """An approval room with a member, a pending application and a
        pending invitation; returns (owner, member, applicant, guest, room,
        app, inv)."""
        owner, mem, applicant, guest = R.new_users(4)
        room = self.create_room(owner, require_approval=True)
        self.add_member(owner, room, mem)
        app = self.apply(applicant, room)
        inv = self.invite(owner, room, guest)
        return owner, mem, applicant, guest, room, app, inv

    def assertUnchanged(self, owner, room, before):
        now = self.get_room(owner, room)
        for k in ("name", "description", "config", "member_count", "owner"):
            self.assertEqual(now[k], before[k], "room %s changed" % k)


class AuthAndRoutingTest(InputBase):

    def test_every_endpoint_needs_a_bearer(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        bad_tokens = [None, "", "x.y.z", owner.access + "x",
                      yq.jwt_encode({"alg": "none", "typ": "JWT"},
                                    {"sub": str(owner.id)})]
        for method, path, body in endpoints(room["id"], mem.id, app["id"],
                                            inv["id"]):
            for tok in bad_tokens:
                with self.subTest(method=method, path=path,
                                  token=(tok or "")[:12]):
                    if tok is None:
                        r = send(method, path, body, None)
                    else:
                        r = yq.request(method, path, token=tok,
                                       **({} if body is None else
                                          {"json_body": body}))
                    self.assert401(r)
        # nothing happened
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 2)
        self.assertEqual(v["name"], room["name"])
        self.assertEqual([a["id"] for a in v["pending_applications"]],
                         [app["id"]])
        self.assertEqual([i["id"] for i in v["pending_invitations"]],
                         [inv["id"]])

    def test_wrong_methods_are_405(self):
        u = yq.new_user()
        room = self.create_room(u)
        rid = room["id"]
        cases = [
            ("PUT", "/rooms/"), ("DELETE", "/rooms/"), ("PATCH", "/rooms/"),
            ("POST", "/rooms/%d" % rid), ("PUT", "/rooms/%d" % rid),
            ("PATCH", "/rooms/%d" % rid),
            ("GET", "/rooms/join"), ("PUT", "/rooms/join"),
            ("DELETE", "/rooms/join"),
            ("GET", "/rooms/leave"), ("DELETE", "/rooms/leave"),
            ("GET", "/rooms/invite"), ("PUT", "/rooms/invite"),
            ("GET", "/rooms/apply"), ("DELETE", "/rooms/apply"),
            ("GET", "/rooms/%d/config" % rid),
            ("POST", "/rooms/%d/config" % rid),
            ("DELETE", "/rooms/%d/config" % rid),
            ("POST", "/rooms/%d/members" % rid),
            ("PUT", "/rooms/%d/members" % rid),
            ("DELETE", "/rooms/%d/members" % rid),
            ("GET", "/rooms/%d/members/%d" % (rid, u.id)),
            ("POST", "/rooms/%d/members/%d" % (rid, u.id)),
            ("GET", "/rooms/%d/transfer" % rid),
            ("PUT", "/rooms/%d/transfer" % rid),
            ("POST", "/rooms/%d/applications" % rid),
            ("DELETE", "/rooms/%d/applications" % rid),
            ("GET", "/rooms/%d/applications/1/approve" % rid),
            ("PUT", "/rooms/%d/applications/1/approve" % rid),
            ("GET", "/rooms/%d/applications/1/reject" % rid),
            ("DELETE", "/rooms/%d/applications/1/reject" % rid),
            ("POST", "/rooms/invitations"), ("DELETE", "/rooms/invitations"),
            ("GET", "/rooms/invitations/1/decline"),
            ("PUT", "/rooms/invitations/1/decline"),
            ("POST", "/rooms/%d/messages" % rid),
            ("DELETE", "/rooms/%d/messages" % rid),
        ]
        for method, path in cases:
            for p in (path, path.rstrip("/") + "/"):
                with self.subTest(method=method, path=p):
                    self.assertDetail(yq.request(method, p, token=u.access),
                                      405)
        self.assertRoomView(self.get_room(u, room), "owner")

    def test_trailing_slash_optional(self):
        owner, mem = R.new_users(2)
        room = self.create_room(owner)
        rid = room["id"]
        for path in ("/rooms", "/rooms/", "/rooms/%d" % rid,
                     "/rooms/%d/" % rid, "/rooms/%d/members/" % rid,
                     "/rooms/%d/applications/" % rid,
                     "/rooms/%d/messages/" % rid, "/rooms/invitations/"):
            with self.subTest(path=path):
                self.assertStatus(yq.get(path, token=owner.access), 200)
        r = yq.post("/rooms/join/", {"room_id": rid}, token=mem.access)
        self.assertStatus(r, 200)

    def test_non_numeric_path_ids_are_404(self):
        owner, mem = R.new_users(2)
        room = self.create_room(owner)
        rid = room["id"]
        templates = [
            ("GET", "/rooms/{}"), ("DELETE", "/rooms/{}"),
            ("PUT", "/rooms/{}/config"), ("GET", "/rooms/{}/members"),
            ("GET", "/rooms/{}/applications"),
            ("GET", "/rooms/{}/messages"), ("POST", "/rooms/{}/transfer"),
            ("POST", "/rooms/invitations/{}/decline"),
            ("PUT", "/rooms/%d/members/{}" % rid),
            ("DELETE", "/rooms/%d/members/{}" % rid),
            ("PUT", "/rooms/{}/members/%d" % mem.id),
            ("DELETE", "/rooms/{}/members/%d" % mem.id),
            ("POST", "/rooms/%d/applications/{}/approve" % rid),
            ("POST", "/rooms/%d/applications/{}/reject" % rid),
            ("POST", "/rooms/{}/applications/1/approve"),
        ]
        bodies = {"PUT": {"role": "member", "name": "z"},
                  "POST": {"user_id": mem.id}}
        for method, tpl in templates:
            for seg in BAD_SEGMENTS:
                path = tpl.format(seg)
                with self.subTest(method=method, path=path[:80]):
                    body = bodies.get(method)
                    r = send(method, path, body, owner.access)
                    self.assertDetail(r, 404)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 1)
        self.assertEqual(v["name"], room["name"])


class BodyTypesTest(InputBase):

    def test_room_id_types(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        rid = room["id"]
        before = self.get_room(owner, room)
        cases = [
            ("/rooms/join", guest, {}),
            ("/rooms/leave", mem, {}),
            ("/rooms/invite", owner, {"user_id": guest.id}),
            ("/rooms/apply", guest, {"message": "m"}),
        ]
        for path, user, extra in cases:
            for bad in BAD_IDS + [str(rid)]:
                with self.subTest(path=path, room_id=bad):
                    r = yq.post(path, dict(extra, room_id=bad),
                                token=user.access)
                    self.assert422(r, ["body", "room_id"])
            with self.subTest(path=path, room_id="missing"):
                self.assert422(yq.post(path, dict(extra), token=user.access),
                               ["body", "room_id"])
            with self.subTest(path=path, body="not an object"):
                for data in ([rid], rid, "x", None):
                    self.assert422(yq.post(path, data, token=user.access))
            with self.subTest(path=path, body="malformed"):
                r = yq.post(path, body=b'{"room_id": %d' % rid,
                            token=user.access, content_type="application/json")
                self.assertDetail(r, 400)
                r = yq.post(path, body=b'{"room_id": %d} x' % rid,
                            token=user.access, content_type="application/json")
                self.assertDetail(r, 400)
            with self.subTest(path=path, body="form"):
                r = yq.post(path, form={"room_id": str(rid)},
                            token=user.access)
                self.assertDetail(r, 415)
            with self.subTest(path=path, body="empty"):
                r = yq.post(path, body=b"", token=user.access,
                            content_type="application/json")
                self.assertIn(r.status, (400, 422), "%r" % (r,))
        self.assertUnchanged(owner, room, before)
        self.assertEqual(self.roles(owner, room),
                         {owner.id: "owner", mem.id: "member"})
        self.assertEqual(R.r_invitations(guest).json["items"][0]["id"],
                         inv["id"])

    def test_huge_and_odd_ids(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        for big in (2 ** 63 - 1, 2 ** 63, 2 ** 64, 10 ** 30):
            with self.subTest(room_id=big):
                r = R.r_join(guest, big)
                # out of range of a 64-bit id: either way, never a 5xx
                self.assertIn(r.status, (404, 422), "%r" % (r,))
                self.assertDetail(r, r.status)
        r = yq.post("/rooms/join", body=b'{"room_id": 1e3}',
                    token=guest.access, content_type="application/json")
        self.assert422(r, ["body", "room_id"])
        r = yq.post("/rooms/join", body=b'{"room_id": %d.0}' % room["id"],
                    token=guest.access, content_type="application/json")
        self.assert422(r, ["body", "room_id"])

    def test_user_id_types(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        rid = room["id"]
        before = self.get_room(owner, room)
        for path, base in (("/rooms/invite", {"room_id": rid}),
                           ("/rooms/%d/transfer" % rid, {})):
            for bad in BAD_IDS + [str(mem.id)]:
                with self.subTest(path=path, user_id=bad):
                    r = yq.post(path, dict(base, user_id=bad),
                                token=owner.access)
                    self.assert422(r, ["body", "user_id"])
            with self.subTest(path=path, user_id="missing"):
                self.assert422(yq.post(path, dict(base), token=owner.access),
                               ["body", "user_id"])
        # both fields wrong: both named
        r = yq.post("/rooms/invite", {"room_id": "x", "user_id": "y"},
                    token=owner.access)
        self.assert422(r, ["body", "room_id"])
        self.assert422(r, ["body", "user_id"])
        r = yq.post("/rooms/invite", {}, token=owner.access)
        self.assert422(r, ["body", "room_id"])
        self.assert422(r, ["body", "user_id"])
        self.assertUnchanged(owner, room, before)
        self.assertEqual(self.roles(owner, room),
                         {owner.id: "owner", mem.id: "member"})

    def test_role_types(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        for bad in (None, 1, True, ["moderator"], {"r": 1}, "", "owner",
                    "admin", "Moderator", " moderator", "moderator\u0000",
                    "x" * 1000):
            with self.subTest(role=bad):
                r = R.r_set_role(owner, room, mem, bad)
                if r.status == 400:       # the NUL: malformed JSON
                    self.assertEqual(bad, "moderator\u0000")
                    self.assertDetail(r, 400)
                else:
                    self.assert422(r, ["body", "role"])
        self.assert422(yq.put("/rooms/%d/members/%d" % (room["id"], mem.id),
                              {}, token=owner.access), ["body", "role"])
        self.assertEqual(self.roles(owner, room)[mem.id], "member")
        self.assertNotNotified(mem, "role_changed", room)

    def test_message_types(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        for bad in (1, True, ["m"], {"m": 1}):
            with self.subTest(message=bad):
                self.assert422(R.r_apply(guest, room, bad),
                               ["body", "message"])
        for bad in ("x" * 501, "中" * 501, "x" * 10240):
            with self.subTest(message_len=len(bad)):
                self.assert422(R.r_apply(guest, room, bad),
                               ["body", "message"])
        self.assertEqual(len(R.r_applications(owner, room).json["items"]), 1)
        app2 = self.apply(yq.new_user(), room, "中" * 500)
        self.assertEqual(app2["message"], "中" * 500)


class RoomFieldsTest(InputBase):

    def test_create_name_rules(self):
        u = yq.new_user()
        for name in ("x" * 64, "中" * 64, "😀" * 64, "a", " a ", "a b"):
            with self.subTest(name=name[:10], length=len(name)):
                r = R.r_create(u, name=name)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["name"], name)
                self.assertEqual(self.get_room(u, r.json)["name"], name)
        for name in ("x" * 65, "中" * 65, "😀" * 65, "", " ", "   ", "\t",
                     " \t ", "a\nb", "a\u0001b", "\u001f"):
            with self.subTest(bad_name=name[:10], length=len(name)):
                self.assert422(R.r_create(u, name=name), ["body", "name"])
        for name in (None, 1, True, ["x"], {"x": 1}):
            with self.subTest(bad_name=name):
                r = yq.post("/rooms/", {"name": name}, token=u.access)
                self.assert422(r, ["body", "name"])
        self.assert422(yq.post("/rooms/", {}, token=u.access),
                       ["body", "name"])
        self.assert422(yq.post("/rooms/", {"description": "d"},
                               token=u.access), ["body", "name"])
        r = R.r_list(u, "?mine=true")
        self.assertEqual(len(r.json["items"]), 6)

    def test_create_description_rules(self):
        u = yq.new_user()
        for desc in ("", "x" * 500, "中" * 500, "line\nbreak\ttab"):
            with self.subTest(length=len(desc)):
                r = R.r_create(u, description=desc)
                self.assertStatus(r, 201)
                self.assertEqual(r.json["description"], desc)
        for desc in ("x" * 501, "中" * 501, "x" * 10240, 5, True, ["d"]):
            with self.subTest(bad=str(desc)[:10]):
                r = R.r_create(u, description=desc)
                self.assert422(r, ["body", "description"])

    def test_create_config_rules(self):
        u = yq.new_user()
        created = 0
        for key in ("is_public", "require_approval", "keep_chat_history",
                    "sync_playback", "guest_control"):
            for bad in BAD_BOOLS:
                with self.subTest(key=key, value=bad):
                    r = R.r_create(u, config={key: bad})
                    self.assert422(r)
                    self.assertIn(key, json.dumps(r.json["detail"]))
        for bad in (1, 0, -5, 1001, 10 ** 12, "10", 10.5, True, None, []):
            with self.subTest(max_members=bad):
                r = R.r_create(u, config={"max_members": bad})
                if bad is None:
                    # null for an optional field: either the default or 422
                    self.assertIn(r.status, (201, 422), "%r" % (r,))
                    if r.status == 201:
                        self.assertEqual(r.json["config"]["max_members"], 50)
                        created += 1
                    continue
                self.assert422(r)
                self.assertIn("max_members", json.dumps(r.json["detail"]))
        for bad in ("x", [], 1, True):
            with self.subTest(config=bad):
                r = R.r_create(u, config=bad)
                self.assert422(r, ["body", "config"])
        for ok in (2, 1000):
            r = R.r_create(u, config={"max_members": ok})
            self.assertStatus(r, 201)
            self.assertEqual(r.json["config"]["max_members"], ok)
        r = R.r_list(u, "?mine=true")
        self.assertEqual(len(r.json["items"]), 2 + created)

    def test_config_update_rules(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        before = self.get_room(owner, room)
        bad_bodies = []
        for key in ("is_public", "require_approval", "keep_chat_history",
                    "sync_playback", "guest_control"):
            for bad in BAD_BOOLS:
                bad_bodies.append(({key: bad}, key))
                bad_bodies.append(({"config": {key: bad}}, key))
        for bad in (1, 0, -1, 1001, "10", 10.5, True, []):
            bad_bodies.append(({"max_members": bad}, "max_members"))
            bad_bodies.append(({"config": {"max_members": bad}},
                               "max_members"))
        for bad in ("x" * 65, "", "   ", "\t", "a\nb", 1, ["n"]):
            bad_bodies.append(({"name": bad}, "name"))
        for bad in ("x" * 501, "x" * 10240, 1, {"d": 1}):
            bad_bodies.append(({"description": bad}, "description"))
        for bad in ("x", [], 1):
            bad_bodies.append(({"config": bad}, "config"))
        # one bad field spoils the whole update
        bad_bodies.append(({"name": "fine", "max_members": 1},
                           "max_members"))
        bad_bodies.append(({"description": "fine",
                            "config": {"is_public": "false"}}, "is_public"))
        for body, field in bad_bodies:
            with self.subTest(body=json.dumps(body)[:80]):
                r = R.r_config(owner, room, body)
                self.assert422(r)
                self.assertIn(field, json.dumps(r.json["detail"]),
                              "422 does not name %s: %r" % (field, r))
        for data in ([], "x", 1, None):
            with self.subTest(body=data):
                self.assert422(R.r_config(owner, room, data))
        r = yq.put("/rooms/%d/config" % room["id"], body=b'{"name":',
                   token=owner.access, content_type="application/json")
        self.assertDetail(r, 400)
        r = yq.put("/rooms/%d/config" % room["id"], body=b"name=x",
                   token=owner.access,
                   content_type="application/x-www-form-urlencoded")
        self.assertDetail(r, 415)
        self.assertUnchanged(owner, room, before)
        if yq.DB_SOCKET:
            self.assertEqual([p["event"] for _, p in R.room_events(room)],
                             ["member_joined"])
        # the limits themselves are fine
        r = R.r_config(owner, room, {"name": "n" * 64,
                                     "description": "d" * 500,
                                     "max_members": 1000})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["name"], "n" * 64)
        self.assertEqual(r.json["description"], "d" * 500)
        r = R.r_config(owner, room, {"config": {"max_members": 2}})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["config"]["max_members"], 2)

    def test_bodies_over_64k_are_413(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        rid = room["id"]
        pad = "x" * (70 * 1024)
        cases = [
            ("POST", "/rooms/", {"name": "big", "description": pad}),
            ("POST", "/rooms/join", {"room_id": rid, "pad": pad}),
            ("POST", "/rooms/leave", {"room_id": rid, "pad": pad}),
            ("POST", "/rooms/invite", {"room_id": rid, "user_id": guest.id,
                                       "pad": pad}),
            ("POST", "/rooms/apply", {"room_id": rid, "message": pad}),
            ("PUT", "/rooms/%d/config" % rid, {"description": pad}),
            ("PUT", "/rooms/%d/members/%d" % (rid, mem.id),
             {"role": "moderator", "pad": pad}),
            ("POST", "/rooms/%d/transfer" % rid, {"user_id": mem.id,
                                                  "pad": pad}),
            ("POST", "/rooms/%d/applications/%d/approve" % (rid, app["id"]),
             {"pad": pad}),
            ("POST", "/rooms/invitations/%d/decline" % inv["id"],
             {"pad": pad}),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                user = guest if "decline" in path else owner
                r = yq.request(method, path, json_body=body,
                               token=user.access)
                self.assertDetail(r, 413)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 2)
        self.assertEqual(v["description"], "")
        self.assertEqual(self.roles(owner, room)[mem.id], "member")
        self.assertEqual([a["id"] for a in v["pending_applications"]],
                         [app["id"]])
        self.assertEqual([i["id"] for i in v["pending_invitations"]],
                         [inv["id"]])


class VerbatimTest(InputBase):
    """SQL and LIKE metacharacters go in and come out unchanged."""

    def test_names_descriptions_and_messages_verbatim(self):
        owner, applicant, guest = R.new_users(3)
        for s in SQL_NAMES:
            with self.subTest(s=s):
                room = self.create_room(owner, name=s, description=s + s,
                                        require_approval=True)
                self.assertEqual(room["name"], s)
                self.assertEqual(room["description"], s + s)
                v = self.get_room(owner, room)
                self.assertEqual((v["name"], v["description"]), (s, s + s))
                inv = self.invite(owner, room, guest)
                self.assertEqual(inv["room_name"], s)
                self.assertNotified(guest, "room_invite", room,
                                    room_name=s, invitation_id=inv["id"])
                app = self.apply(applicant, room, s)
                self.assertEqual(app["message"], s)
                items = R.r_applications(owner, room).json["items"]
                self.assertEqual([a["message"] for a in items], [s])
                n = self.assertNotified(owner, "room_application", room,
                                        room_name=s)
                self.assertEqual(n["content"].get("message", s), s)
                q = urllib.parse.quote(s)
                r = R.r_list(owner, "?mine=true&q=" + q)
                self.assertStatus(r, 200)
                self.assertIn(room["id"], [i["id"] for i in r.json["items"]])
                for item in r.json["items"]:
                    self.assertIn(s.lower(), item["name"].lower())
                r = R.r_config(owner, room, {"name": s[::-1] or "x",
                                             "description": s})
                self.assertStatus(r, 200)
                self.assertEqual(r.json["name"], s[::-1] or "x")
                self.assertEqual(r.json["description"], s)
        # the tables are all still there
        r = R.r_list(owner, "?mine=true&limit=100")
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["items"]), len(SQL_NAMES))
        self.assertStatus(yq.get("/users/me", token=owner.access), 200)

    def test_odd_queries_never_fail(self):
        u = yq.new_user()
        room = self.create_room(u)
        for qs in ("q=%00", "q=%FF%FE", "q=" + "a" * 2000, "q=a&q=b",
                   "q=%25%25", "q=%5C", "q='%20OR%201=1--", "q=_",
                   "q=" + "%25" * 64, "q", "mine", "limit=", "cursor=",
                   "q=%E4%B8%AD" * 30):
            with self.subTest(qs=qs[:40]):
                r = R.r_list(u, "?" + qs)
                self.assertIn(r.status, (200, 400, 422), "%r" % (r,))
                if r.status == 200:
                    self.assertPage(r.json)
                else:
                    self.assertDetail(r, r.status)
        for path in ("/rooms/%d/messages" % room["id"],
                     "/rooms/%d/applications" % room["id"],
                     "/rooms/invitations"):
            for qs in ("limit=0", "limit=101", "limit=x", "limit=-1",
                       "cursor=%21%21", "cursor=" + "A" * 500):
                with self.subTest(path=path, qs=qs):
                    r = yq.get(path + "?" + qs, token=u.access)
                    self.assert422(r, ["query", qs.split("=")[0]])
        for bid in ("abc", "0", "-1", "1.5", "1e3", "99999999999999999999999",
                    "1%20", "%201", "", "+1"):
            with self.subTest(before_id=bid):
                r = R.r_messages(u, room, "?before_id=" + bid)
                self.assert422(r, ["query", "before_id"])
        # a NUL in the query: malformed (400) or invalid (422), never 5xx
        r = R.r_messages(u, room, "?before_id=%00")
        self.assertDetail(r, 400, 422)


class UnknownAndForeignIdsTest(InputBase):

    def test_unknown_room_is_404_everywhere(self):
        u, other = R.new_users(2)
        for method, path, body in endpoints(BIG, other.id, 1, BIG):
            if path in ("/rooms/", "/rooms/invitations"):
                continue
            with self.subTest(method=method, path=path):
                self.assertDetail(send(method, path, body, u.access), 404)

    def test_unknown_targets_in_my_room_are_404(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        rid = room["id"]
        cases = [
            R.r_invite(owner, room, BIG),
            R.r_set_role(owner, room, BIG, "moderator"),
            R.r_kick(owner, room, BIG),
            R.r_transfer(owner, room, BIG),
            R.r_approve(owner, room, BIG),
            R.r_reject(owner, room, BIG),
            R.r_decline(guest, BIG),
            yq.put("/rooms/%d/members/0" % rid, {"role": "member"},
                   token=owner.access),
            yq.delete("/rooms/%d/members/0" % rid, token=owner.access),
            yq.post("/rooms/%d/applications/0/approve" % rid,
                    token=owner.access),
            yq.post("/rooms/invitations/0/decline", token=guest.access),
            yq.get("/rooms/0", token=owner.access),
        ]
        for i, r in enumerate(cases):
            with self.subTest(case=i, request="%s %s" % (r.method, r.path)):
                self.assertDetail(r, 404)
        # a registered user who is not a member is no target either
        for r in (R.r_set_role(owner, room, guest, "moderator"),
                  R.r_kick(owner, room, guest),
                  R.r_transfer(owner, room, applicant)):
            with self.subTest(request="%s %s" % (r.method, r.path)):
                self.assertDetail(r, 404)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 2)
        self.assertUserRef(v["owner"], owner)

    def test_idor_invitations(self):
        owner, guest, thief = R.new_users(3)
        room = self.create_room(owner, is_public=False)
        inv = self.invite(owner, room, guest)
        # another user can neither see nor decline nor use it
        self.assertDetail(R.r_decline(thief, inv["id"]), 404)
        self.assertDetail(R.r_decline(owner, inv["id"]), 404)
        self.assertEqual(R.r_invitations(thief).json["items"], [])
        self.assertEqual(R.r_invitations(owner).json["items"], [])
        self.assertDetail(R.r_join(thief, room), 404)
        self.assertDetail(R.r_get(thief, room), 404)
        self.assertNotNotified(owner, "invitation_declined", room)
        # the invitation is intact
        self.assertEqual([i["id"] for i in R.r_invitations(guest).json[
            "items"]], [inv["id"]])
        self.assertStatus(R.r_join(guest, room), 200)

    def test_idor_applications(self):
        a_owner, b_owner, applicant, a_mod = R.new_users(4)
        room_a = self.create_room(a_owner, require_approval=True)
        self.add_member(a_owner, room_a, a_mod, "moderator")
        room_b = self.create_room(b_owner, require_approval=True,
                                  is_public=False)
        # an application to room B (made while it was public)
        self.assertStatus(R.r_config(b_owner, room_b, {"is_public": True}),
                          200)
        app_b = self.apply(applicant, room_b)
        self.assertStatus(R.r_config(b_owner, room_b, {"is_public": False}),
                          200)
        # A's approvers cannot decide it through A's URL ...
        for user in (a_owner, a_mod):
            self.assertDetail(R.r_approve(user, room_a, app_b["id"]), 404)
            self.assertDetail(R.r_reject(user, room_a, app_b["id"]), 404)
            # ... nor through B's (private, not theirs: 404)
            self.assertDetail(R.r_approve(user, room_b, app_b["id"]), 404)
            self.assertDetail(R.r_applications(user, room_b), 404)
        # the applicant cannot approve themselves
        self.assertDetail(R.r_approve(applicant, room_b, app_b["id"]), 403)
        v = self.get_room(b_owner, room_b)
        self.assertEqual(v["member_count"], 1)
        self.assertEqual([x["id"] for x in v["pending_applications"]],
                         [app_b["id"]])
        self.assertNotNotified(applicant, "application_approved", room_b)
        self.assertNotNotified(applicant, "application_rejected", room_b)

    def test_idor_members_of_other_rooms(self):
        a_owner, b_owner, b_mem = R.new_users(3)
        room_a = self.create_room(a_owner)
        room_b = self.create_room(b_owner, is_public=False)
        self.add_member(b_owner, room_b, b_mem)
        # through my room's URL, B's member is no member
        self.assertDetail(R.r_kick(a_owner, room_a, b_mem), 404)
        self.assertDetail(R.r_set_role(a_owner, room_a, b_mem, "moderator"),
                          404)
        self.assertDetail(R.r_transfer(a_owner, room_a, b_mem), 404)
        # B itself is invisible to A's owner
        for r in (R.r_get(a_owner, room_b), R.r_members(a_owner, room_b),
                  R.r_messages(a_owner, room_b),
                  R.r_kick(a_owner, room_b, b_mem),
                  R.r_set_role(a_owner, room_b, b_mem, "moderator"),
                  R.r_transfer(a_owner, room_b, b_mem),
                  R.r_config(a_owner, room_b, {"name": "mine"}),
                  R.r_dissolve(a_owner, room_b),
                  R.r_invite(a_owner, room_b, a_owner),
                  R.r_leave(a_owner, room_b), R.r_join(a_owner, room_b),
                  R.r_apply(a_owner, room_b)):
            with self.subTest(request="%s %s" % (r.method, r.path)):
                self.assertDetail(r, 404)
        v = self.get_room(b_owner, room_b)
        self.assertEqual(v["member_count"], 2)
        self.assertEqual(self.roles(b_owner, room_b),
                         {b_owner.id: "owner", b_mem.id: "member"})
        self.assertNotNotified(b_mem, "member_kicked", room_b)
        self.assertEqual(self.get_room(a_owner, room_a)["member_count"], 1)


class NoServerErrorTest(InputBase):
    """Odd bodies on every room endpoint, as the owner (who may do the
    most): always a 4xx or a success, never a 5xx (yq.request checks)."""

    BODIES = [b"", b"{}", b"[]", b"null", b'"x"', b"1e999", b"-0", b"{,}",
              b'{"room_id":1e400}', b'{"room_id":-0}', b'{"room_id":1,',
              b'{"room_id":null,"user_id":null,"role":null,"name":null}',
              b'{"room_id":1,"room_id":"x"}',
              b'{"name":"\\ud800"}', b'{"name":"a\\u0000b"}',
              b'{"name":"\xff\xfe"}', b'{"message":"\xc3\x28"}',
              b'{"config":{"config":{"config":{}}}}',
              b'{"config":null,"description":null}',
              b'{"max_members":99999999999999999999999}',
              b'{"user_id":18446744073709551616}',
              b'{"role":"' + b"m" * 5000 + b'"}',
              b"[" * 40 + b"]" * 40, b"\x00\x01\x02", b"{" * 5000]

    def test_odd_bodies(self):
        owner, mem, applicant, guest, room, app, inv = self.world()
        for method, path, _ in endpoints(room["id"], mem.id, app["id"],
                                         inv["id"]):
            if method in ("GET", "DELETE"):
                continue
            for data in self.BODIES:
                with self.subTest(method=method, path=path, data=data[:40]):
                    user = guest if "decline" in path else owner
                    r = yq.request(method, path, body=data, token=user.access,
                                   content_type="application/json")
                    self.assertLess(r.status, 500, "%r" % (r,))
                    if r.status >= 400:
                        self.assertDetail(r, r.status)
        # the room survived all that
        self.assertRoomView(self.get_room(owner, room), "owner")
