"""Room helpers shared by the test_rooms_* modules (SPEC section 3).

Kept apart from yq.py so that the room tests can grow without touching the
helpers every other module relies on.  Everything here goes through the
public API (yq.request) except room_events() and insert_chat(), which read
and write the stack's database as root (YQ_DB_SOCKET), the way the ws daemon
would.

RoomTest adds to yq.ApiTest:
  - one-call actions that assert their expected status and say which setup
    step failed (create_room, invite, join, apply, set_role, ...);
  - room-view shape checks (assertRoomView) for every identity;
  - notification look-ups (notifications_of, assertNotified);
  - the queue events of a room (room_events, assertEvents).
"""

import json
import threading

import yq
from yq import ApiTest

# The room view every identity that may see the room gets ...
SUMMARY_KEYS = {"id", "name", "description", "owner", "member_count",
                "online_count", "config", "created_at", "my_role"}
# ... what members also get ...
MEMBER_KEYS = {"members", "playback"}
# ... and what the owner and moderators also get.
APPROVER_KEYS = {"pending_applications", "pending_invitations"}

CONFIG_KEYS = {"is_public", "require_approval", "keep_chat_history",
               "sync_playback", "guest_control", "max_members"}
MEMBER_ITEM_KEYS = {"id", "username", "avatar_url", "role", "joined_at",
                    "online"}
PLAYBACK_KEYS = {"media_url", "state", "position_ms", "rate", "version",
                 "updated_at_ms"}
INVITATION_KEYS = {"id", "room_id", "room_name", "inviter", "invitee",
                   "status", "created_at"}
APPLICATION_KEYS = {"id", "room_id", "user", "message", "status",
                    "created_at"}
MEMBERSHIP_KEYS = {"room_id", "user_id", "role"}
ROLES = ("owner", "moderator", "member", "invited", "applied", "none")

DEFAULT_CONFIG = {"is_public": True, "require_approval": False,
                  "keep_chat_history": True, "sync_playback": True,
                  "guest_control": False, "max_members": 50}


def uid(u):
    """A user id from a User or an int."""
    return u.id if isinstance(u, yq.User) else int(u)


def room_id_of(room):
    return room["id"] if isinstance(room, dict) else int(room)


def new_users(n):
    return [yq.new_user() for _ in range(n)]


def in_parallel(fns, timeout=60):
    """Run the callables at the same moment (one thread each, released
    together by a barrier); return their results in order.  An exception in
    a thread is re-raised here."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)
    errors = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait(timeout)
            results[i] = fn()
        except BaseException as e:          # re-raised in the main thread
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True)
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("a parallel request did not finish in %ds"
                                 % timeout)
    for e in errors:
        if e is not None:
            raise e
    return results


# --------------------------------------------------------------------------
# raw requests (no status assertion): the permission and input tests need
# the Response whatever it is


def r_create(user, name=None, description=None, config=None, **top):
    body = {"name": name if name is not None else "room " + yq.rand_str(8)}
    if description is not None:
        body["description"] = description
    if config is not None:
        body["config"] = config
    body.update(top)
    return yq.post("/rooms/", body, token=user.access)


def r_get(user, room):
    return yq.get("/rooms/%d" % room_id_of(room), token=user.access)


def r_join(user, room):
    return yq.post("/rooms/join", {"room_id": room_id_of(room)},
                   token=user.access)


def r_leave(user, room):
    return yq.post("/rooms/leave", {"room_id": room_id_of(room)},
                   token=user.access)


def r_invite(user, room, invitee):
    return yq.post("/rooms/invite", {"room_id": room_id_of(room),
                                     "user_id": uid(invitee)},
                   token=user.access)


def r_apply(user, room, message=None):
    body = {"room_id": room_id_of(room)}
    if message is not None:
        body["message"] = message
    return yq.post("/rooms/apply", body, token=user.access)


def r_config(user, room, body):
    return yq.put("/rooms/%d/config" % room_id_of(room), body,
                  token=user.access)


def r_members(user, room):
    return yq.get("/rooms/%d/members" % room_id_of(room), token=user.access)


def r_set_role(user, room, target, role):
    return yq.put("/rooms/%d/members/%d" % (room_id_of(room), uid(target)),
                  {"role": role}, token=user.access)


def r_kick(user, room, target):
    return yq.delete("/rooms/%d/members/%d" % (room_id_of(room),
                                               uid(target)),
                     token=user.access)


def r_transfer(user, room, target):
    return yq.post("/rooms/%d/transfer" % room_id_of(room),
                   {"user_id": uid(target)}, token=user.access)


def r_dissolve(user, room):
    return yq.delete("/rooms/%d" % room_id_of(room), token=user.access)


def r_applications(user, room, query=""):
    return yq.get("/rooms/%d/applications%s" % (room_id_of(room), query),
                  token=user.access)


def r_approve(user, room, app_id):
    return yq.post("/rooms/%d/applications/%d/approve"
                   % (room_id_of(room), app_id), token=user.access)


def r_reject(user, room, app_id):
    return yq.post("/rooms/%d/applications/%d/reject"
                   % (room_id_of(room), app_id), token=user.access)


def r_invitations(user, query=""):
    return yq.get("/rooms/invitations" + query, token=user.access)


def r_decline(user, inv_id):
    return yq.post("/rooms/invitations/%d/decline" % inv_id,
                   token=user.access)


def r_messages(user, room, query=""):
    return yq.get("/rooms/%d/messages%s" % (room_id_of(room), query),
                  token=user.access)


def r_list(user, query=""):
    return yq.get("/rooms/" + query, token=user.access)


# --------------------------------------------------------------------------
# root SQL: queue events and chat rows


def room_events(room):
    """[(type, payload dict)] of the room's event_queue rows, oldest first."""
    rows = yq.sql("SELECT type, payload FROM event_queue WHERE "
                  "target_kind = 'room' AND target_id = %d ORDER BY id;"
                  % room_id_of(room))
    return [(t, json.loads(p)) for t, p in rows]


def insert_chat(room, user, text):
    """Insert one chat row as the ws daemon would; return its id."""
    return yq.sql_int(
        "INSERT INTO chat_messages (room_id, user_id, text) VALUES "
        "(%d, %d, %s); SELECT LAST_INSERT_ID();"
        % (room_id_of(room), uid(user), yq.sql_quote(text)))


# --------------------------------------------------------------------------
# assertions and asserted actions


class RoomTest(ApiTest):

    # -- actions that must succeed (setup steps) --------------------------

    def _ok(self, r, status, what):
        self.assertEqual(r.status, status, "%s: expected %d, got %r"
                         % (what, status, r))
        return r.json

    def create_room(self, owner, name=None, description=None, **config):
        """POST /rooms/ as owner with the config given; return the view."""
        r = r_create(owner, name=name, description=description,
                     config=config or None)
        room = self._ok(r, 201, "create room")
        self.assertRoomView(room, "owner")
        for k, v in config.items():
            self.assertEqual(room["config"][k], v, "config %s: %r" % (k, r))
        return room

    def join(self, user, room):
        return self._ok(r_join(user, room), 200, "join %s" % user.username)

    def invite(self, inviter, room, invitee):
        inv = self._ok(r_invite(inviter, room, invitee), 201,
                       "invite %s" % getattr(invitee, "username", invitee))
        self.assertInvitation(inv)
        return inv

    def apply(self, user, room, message=None):
        app = self._ok(r_apply(user, room, message), 201,
                       "apply %s" % user.username)
        self.assertApplication(app)
        return app

    def set_role(self, owner, room, target, role):
        return self._ok(r_set_role(owner, room, target, role), 200,
                        "set role %s of %s" % (role, target.username))

    def add_member(self, owner, room, user, role="member"):
        """Invite user and let them join (works for any kind of room);
        then make them moderator if asked."""
        self.invite(owner, room, user)
        m = self.join(user, room)
        self.assertEqual(m["role"], "member", "%r" % (m,))
        if role != "member":
            self.set_role(owner, room, user, role)
        return m

    def get_room(self, user, room, status=200):
        r = r_get(user, room)
        return self._ok(r, status, "GET room as %s" % user.username)

    def members(self, user, room):
        body = self._ok(r_members(user, room), 200, "members list")
        self.assertEqual(set(body), {"items", "next_cursor"}, "%r" % body)
        for m in body["items"]:
            self.assertMemberItem(m)
        return body["items"]

    def roles(self, viewer, room):
        """{user id: role} from GET /rooms/{id}/members."""
        return {m["id"]: m["role"] for m in self.members(viewer, room)}

    # -- shapes -----------------------------------------------------------

    def assertUserRef(self, o, user=None):
        self.assertIsInstance(o, dict)
        self.assertEqual(set(o), {"id", "username"}, "%r" % (o,))
        self.assertIsInstance(o["id"], int)
        self.assertIsInstance(o["username"], str)
        if user is not None:
            self.assertEqual(o["id"], user.id, "%r" % (o,))
            self.assertEqual(o["username"], user.username, "%r" % (o,))

    def assertMemberItem(self, m):
        self.assertIsInstance(m, dict)
        self.assertTrue(MEMBER_ITEM_KEYS <= set(m), "member item %r" % (m,))
        self.assertIsInstance(m["id"], int)
        self.assertIn(m["role"], ("owner", "moderator", "member"))
        self.assertIsInstance(m["online"], bool)
        self.assertIsInstance(m["avatar_url"], str)
        self.assertTime(m["joined_at"])

    def assertInvitation(self, inv, status="pending"):
        self.assertIsInstance(inv, dict, "%r" % (inv,))
        self.assertTrue(INVITATION_KEYS <= set(inv), "invitation %r" % (inv,))
        self.assertIsInstance(inv["id"], int)
        self.assertIsInstance(inv["room_id"], int)
        self.assertIsInstance(inv["room_name"], str)
        self.assertUserRef(inv["inviter"])
        self.assertUserRef(inv["invitee"])
        self.assertEqual(inv["status"], status, "%r" % (inv,))
        self.assertTime(inv["created_at"])

    def assertApplication(self, app, status="pending"):
        self.assertIsInstance(app, dict, "%r" % (app,))
        self.assertTrue(APPLICATION_KEYS <= set(app), "application %r"
                        % (app,))
        self.assertIsInstance(app["id"], int)
        self.assertIsInstance(app["room_id"], int)
        self.assertUserRef(app["user"])
        self.assertIsInstance(app["message"], str)
        self.assertEqual(app["status"], status, "%r" % (app,))
        self.assertTime(app["created_at"])

    def assertMembership(self, m, room, user, role):
        self.assertIsInstance(m, dict, "%r" % (m,))
        self.assertTrue(MEMBERSHIP_KEYS <= set(m), "membership %r" % (m,))
        self.assertEqual(m["room_id"], room_id_of(room), "%r" % (m,))
        self.assertEqual(m["user_id"], uid(user), "%r" % (m,))
        self.assertEqual(m["role"], role, "%r" % (m,))

    def assertRoomView(self, room, my_role, summary=False):
        """The view of SPEC section 3 for an identity: the summary for all,
        members/playback for members, pending_* for approvers, and nothing
        more than the identity may see.  With summary (list items), only
        the summary, whoever asks."""
        self.assertIsInstance(room, dict, "%r" % (room,))
        keys = set(room)
        self.assertTrue(SUMMARY_KEYS <= keys, "summary keys missing: %r"
                        % (sorted(SUMMARY_KEYS - keys),))
        self.assertEqual(room["my_role"], my_role, "my_role: %r" % (room,))
        self.assertIsInstance(room["id"], int)
        self.assertIsInstance(room["name"], str)
        self.assertIsInstance(room["description"], str)
        self.assertUserRef(room["owner"])
        self.assertIsInstance(room["member_count"], int)
        self.assertIsInstance(room["online_count"], int)
        self.assertGreaterEqual(room["member_count"], 1)
        self.assertGreaterEqual(room["online_count"], 0)
        self.assertTime(room["created_at"])
        cfg = room["config"]
        self.assertIsInstance(cfg, dict)
        self.assertTrue(CONFIG_KEYS <= set(cfg), "config %r" % (cfg,))
        for k in CONFIG_KEYS - {"max_members"}:
            self.assertIsInstance(cfg[k], bool, "config.%s %r" % (k, cfg))
        self.assertIsInstance(cfg["max_members"], int)
        self.assertFalse(isinstance(cfg["max_members"], bool))
        member = my_role in ("owner", "moderator", "member") and not summary
        approver = my_role in ("owner", "moderator") and not summary
        for k in MEMBER_KEYS:
            if member:
                self.assertIn(k, room, "%s sees no %s" % (my_role, k))
            else:
                self.assertNotIn(k, room, "%s must not see %s"
                                 % (my_role, k))
        for k in APPROVER_KEYS:
            if approver:
                self.assertIn(k, room, "%s sees no %s" % (my_role, k))
                self.assertIsInstance(room[k], list)
            else:
                self.assertNotIn(k, room, "%s must not see %s"
                                 % (my_role, k))
        if member:
            self.assertIsInstance(room["members"], list)
            for m in room["members"]:
                self.assertMemberItem(m)
            self.assertEqual(len(room["members"]), room["member_count"],
                             "members vs member_count: %r" % (room,))
            owners = [m for m in room["members"] if m["role"] == "owner"]
            self.assertEqual(len(owners), 1, "%r" % (room["members"],))
            self.assertEqual(owners[0]["id"], room["owner"]["id"])
            pb = room["playback"]
            self.assertIsInstance(pb, dict)
            self.assertTrue(PLAYBACK_KEYS <= set(pb), "playback %r" % (pb,))
            self.assertIn(pb["state"], ("playing", "paused"))
            self.assertIsInstance(pb["media_url"], str)
            for k in ("position_ms", "version", "updated_at_ms"):
                self.assertIsInstance(pb[k], int, "playback.%s" % k)
            self.assertIsInstance(pb["rate"], (int, float))
        if approver:
            for a in room["pending_applications"]:
                self.assertApplication(a)
            for i in room["pending_invitations"]:
                self.assertInvitation(i)

    def assertPage(self, body):
        self.assertIsInstance(body, dict, "%r" % (body,))
        self.assertIn("items", body)
        self.assertIn("next_cursor", body)
        self.assertIsInstance(body["items"], list)
        if body["next_cursor"] is not None:
            self.assertIsInstance(body["next_cursor"], str)
            self.assertTrue(body["next_cursor"])

    # -- notifications ------------------------------------------------------

    def notifications_of(self, user):
        """Every notification of user (fresh users have few), newest
        first."""
        items, cursor = [], None
        for _ in range(50):
            q = "?status=all&limit=100" + ("&cursor=" + cursor if cursor
                                          else "")
            r = yq.get("/notifications/" + q, token=user.access)
            self.assertStatus(r, 200)
            items += r.json["items"]
            cursor = r.json.get("next_cursor")
            if not cursor:
                return items
        self.fail("notification paging does not end")

    def notified(self, user, type_, room):
        """The notifications of type_ about room that user holds."""
        rid = room_id_of(room)
        return [n for n in self.notifications_of(user)
                if n["type"] == type_ and isinstance(n["content"], dict)
                and n["content"].get("room_id") == rid]

    def assertNotified(self, user, type_, room, count=1, **fields):
        """user holds exactly `count` notifications of type_ about room;
        the newest one's content carries room_id, room_name and fields
        (a User value compares as a {id, username} reference).  Returns the
        newest one."""
        got = self.notified(user, type_, room)
        self.assertEqual(len(got), count, "%s: %d %s notification(s) about "
                         "room %d, expected %d: %r"
                         % (user.username, len(got), type_,
                            room_id_of(room), count,
                            self.notifications_of(user)))
        if not got:
            return None
        n = got[0]
        c = n["content"]
        self.assertEqual(n["status"], "unread", "%r" % (n,))
        self.assertIsInstance(c.get("room_name"), str, "%r" % (n,))
        if isinstance(room, dict):
            self.assertEqual(c["room_name"], room["name"], "%r" % (n,))
        for k, v in fields.items():
            self.assertIn(k, c, "%s content without %s: %r" % (type_, k, n))
            if isinstance(v, yq.User):
                self.assertUserRef(c[k], v)
            else:
                self.assertEqual(c[k], v, "%s content.%s: %r"
                                 % (type_, k, n))
        return n

    def assertNotNotified(self, user, type_, room):
        self.assertEqual(self.notified(user, type_, room), [],
                         "%s got an unexpected %s" % (user.username, type_))

    # -- queue events -------------------------------------------------------

    def assertEvents(self, room, expected):
        """The room's event_queue rows are exactly `expected`, a list of
        (event name, {payload field: value}) in order.  A User value checks
        the field's id; an int checks it as is."""
        rows = room_events(room)
        got = [p.get("event") for _, p in rows]
        self.assertEqual(got, [e for e, _ in expected],
                         "room %d events: %r" % (room_id_of(room), rows))
        for (type_, p), (event, fields) in zip(rows, expected):
            self.assertEqual(type_, "room_event", "%r" % (p,))
            self.assertEqual(p.get("room_id"), room_id_of(room), "%r" % (p,))
            for k, v in fields.items():
                self.assertIn(k, p, "%s payload without %s: %r"
                              % (event, k, p))
                if isinstance(v, yq.User):
                    self.assertIsInstance(p[k], dict, "%r" % (p,))
                    self.assertEqual(p[k].get("id"), v.id, "%s.%s: %r"
                                     % (event, k, p))
                else:
                    self.assertEqual(p[k], v, "%s.%s: %r" % (event, k, p))
        return rows
