"""The room permission matrix (SPEC section 3), table driven.

Every cell of PUBLIC and PRIVATE below is one (action, caller) pair and the
exact status the API must answer.  Each test (one per room kind and action)
registers its own users and, for every caller, builds a fresh room holding:

  owner        created the room
  moderator    member made moderator
  moderator2   a second moderator (the target of "kick_moderator")
  member       plain member
  member2      a second plain member (the target of set_role, kick_member,
               transfer)
  invited      has a pending invitation
  applied      has a pending application (the room requires approval)
  outsider     none of the above

The room requires approval (so that "applied" exists).  A private room is
made private after the application, so the applicant's pending application
makes it visible to them; to the outsider a private room is 404 on every
endpoint.  Read-only actions share one room per test; every other action
gets a fresh room per caller, so a cell never sees another cell's effects.

Actions (caller = the user sending the request):
  view            GET /rooms/{id}                   (my_role is checked too)
  members         GET /rooms/{id}/members
  invite          POST /rooms/invite                (a fresh user)
  applications    GET /rooms/{id}/applications
  approve         POST .../applications/{applied's}/approve
  reject          POST .../applications/{applied's}/reject
  config          PUT /rooms/{id}/config {description}
  set_role        PUT /rooms/{id}/members/{member2} {role: moderator}
  kick_member     DELETE /rooms/{id}/members/{member2}
  kick_moderator  DELETE /rooms/{id}/members/{moderator2}
  kick_owner      DELETE /rooms/{id}/members/{owner}
  transfer        POST /rooms/{id}/transfer {member2}
  dissolve        DELETE /rooms/{id}
  join            POST /rooms/join
  leave           POST /rooms/leave
  apply           POST /rooms/apply
  messages        GET /rooms/{id}/messages
"""

import yq
import yq_rooms as R

CALLERS = ("owner", "moderator", "member", "outsider", "invited", "applied")

#                 owner mod  member outsider invited applied
PUBLIC = {
    "view":           (200, 200, 200, 200, 200, 200),
    "members":        (200, 200, 200, 403, 403, 403),
    "invite":         (201, 201, 403, 403, 403, 403),
    "applications":   (200, 200, 403, 403, 403, 403),
    "approve":        (200, 200, 403, 403, 403, 403),
    "reject":         (200, 200, 403, 403, 403, 403),
    "config":         (200, 403, 403, 403, 403, 403),
    "set_role":       (200, 403, 403, 403, 403, 403),
    "kick_member":    (204, 204, 403, 403, 403, 403),
    "kick_moderator": (204, 403, 403, 403, 403, 403),
    "kick_owner":     (403, 403, 403, 403, 403, 403),
    "transfer":       (200, 403, 403, 403, 403, 403),
    "dissolve":       (204, 403, 403, 403, 403, 403),
    # outsider and applicant: the room requires approval (403, apply);
    # invited: the invitation is accepted
    "join":           (200, 200, 200, 403, 200, 403),
    # the owner cannot leave (409); a non-member leaving is 404
    "leave":          (409, 204, 204, 404, 404, 404),
    # members are members already, the invited should join, the applicant
    # has a pending application: all 409
    "apply":          (409, 409, 409, 201, 409, 409),
    "messages":       (200, 200, 200, 403, 403, 403),
}

#                 owner mod  member outsider invited applied
PRIVATE = {
    "view":           (200, 200, 200, 404, 200, 200),
    "members":        (200, 200, 200, 404, 403, 403),
    "invite":         (201, 201, 403, 404, 403, 403),
    "applications":   (200, 200, 403, 404, 403, 403),
    "approve":        (200, 200, 403, 404, 403, 403),
    "reject":         (200, 200, 403, 404, 403, 403),
    "config":         (200, 403, 403, 404, 403, 403),
    "set_role":       (200, 403, 403, 404, 403, 403),
    "kick_member":    (204, 204, 403, 404, 403, 403),
    "kick_moderator": (204, 403, 403, 404, 403, 403),
    "kick_owner":     (403, 403, 403, 404, 403, 403),
    "transfer":       (200, 403, 403, 404, 403, 403),
    "dissolve":       (204, 403, 403, 404, 403, 403),
    # SPEC: "Private without invitation -> 404", also for the applicant
    "join":           (200, 200, 200, 404, 200, 404),
    "leave":          (409, 204, 204, 404, 404, 404),
    "apply":          (409, 409, 409, 404, 409, 409),
    "messages":       (200, 200, 200, 404, 403, 403),
}

READ_ONLY = {"view", "members", "applications", "messages"}

MY_ROLE = {"owner": "owner", "moderator": "moderator", "member": "member",
           "outsider": "none", "invited": "invited", "applied": "applied"}


class Fixture:
    """One room and everyone's relation to it."""

    def __init__(self, room, app_id, inv_id):
        self.room = room
        self.id = room["id"]
        self.app_id = app_id
        self.inv_id = inv_id


ACTIONS = {
    "view": lambda c, fx, u: R.r_get(c, fx.id),
    "members": lambda c, fx, u: R.r_members(c, fx.id),
    "invite": lambda c, fx, u: R.r_invite(c, fx.id, u["spare"]),
    "applications": lambda c, fx, u: R.r_applications(c, fx.id),
    "approve": lambda c, fx, u: R.r_approve(c, fx.id, fx.app_id),
    "reject": lambda c, fx, u: R.r_reject(c, fx.id, fx.app_id),
    "config": lambda c, fx, u: R.r_config(c, fx.id, {"description": "d2"}),
    "set_role": lambda c, fx, u: R.r_set_role(c, fx.id, u["member2"],
                                              "moderator"),
    "kick_member": lambda c, fx, u: R.r_kick(c, fx.id, u["member2"]),
    "kick_moderator": lambda c, fx, u: R.r_kick(c, fx.id, u["moderator2"]),
    "kick_owner": lambda c, fx, u: R.r_kick(c, fx.id, u["owner"]),
    "transfer": lambda c, fx, u: R.r_transfer(c, fx.id, u["member2"]),
    "dissolve": lambda c, fx, u: R.r_dissolve(c, fx.id),
    "join": lambda c, fx, u: R.r_join(c, fx.id),
    "leave": lambda c, fx, u: R.r_leave(c, fx.id),
    "apply": lambda c, fx, u: R.r_apply(c, fx.id, "let me in"),
    "messages": lambda c, fx, u: R.r_messages(c, fx.id),
}


class MatrixBase(R.RoomTest):

    def make_users(self):
        names = ("owner", "moderator", "moderator2", "member", "member2",
                 "invited", "applied", "outsider", "spare")
        return dict(zip(names, R.new_users(len(names))))

    def build(self, u, private):
        """A fresh room with every identity (see the module doc)."""
        room = self.create_room(u["owner"], name="perm " + yq.rand_str(8),
                                require_approval=True)
        for key, role in (("moderator", "moderator"),
                          ("moderator2", "moderator"),
                          ("member", "member"), ("member2", "member")):
            self.add_member(u["owner"], room, u[key], role)
        inv = self.invite(u["owner"], room, u["invited"])
        app = self.apply(u["applied"], room, "please")
        if private:
            r = R.r_config(u["owner"], room, {"is_public": False})
            self.assertStatus(r, 200)
            self.assertFalse(r.json["config"]["is_public"])
        return Fixture(room, app["id"], inv["id"])

    def check_body(self, action, caller, r, fx, u):
        """The success bodies have the right kind."""
        if action == "view" and r.status == 200:
            self.assertRoomView(r.json, MY_ROLE[caller])
            self.assertEqual(r.json["id"], fx.id)
        elif action in ("members", "applications", "messages") \
                and r.status == 200:
            self.assertPage(r.json)
        elif action == "invite" and r.status == 201:
            self.assertInvitation(r.json)
            self.assertEqual(r.json["invitee"]["id"], u["spare"].id)
        elif action in ("approve", "reject") and r.status == 200:
            self.assertApplication(r.json, "approved" if action == "approve"
                                   else "rejected")
            self.assertEqual(r.json["id"], fx.app_id)
        elif action in ("config", "transfer") and r.status == 200:
            self.assertRoomView(r.json, "owner" if action == "config"
                                else "moderator")
        elif action == "set_role" and r.status == 200:
            self.assertMembership(r.json, fx.id, u["member2"], "moderator")
        elif action == "join" and r.status == 200:
            self.assertMembership(r.json, fx.id, u[caller],
                                  MY_ROLE[caller] if caller in
                                  ("owner", "moderator") else "member")
        elif action == "apply" and r.status == 201:
            self.assertApplication(r.json)
        elif r.status >= 400:
            self.assertDetail(r, r.status)

    def run_action(self, action, table, private):
        u = self.make_users()
        expected = dict(zip(CALLERS, table[action]))
        shared = self.build(u, private) if action in READ_ONLY else None
        for caller in CALLERS:
            with self.subTest(room="private" if private else "public",
                              action=action, caller=caller):
                fx = shared or self.build(u, private)
                r = ACTIONS[action](u[caller], fx, u)
                self.assertEqual(
                    r.status, expected[caller],
                    "%s by %s in a %s room: expected %d, got %r"
                    % (action, caller, "private" if private else "public",
                       expected[caller], r))
                self.check_body(action, caller, r, fx, u)


def _make_test(action, table, private):
    def test(self):
        self.run_action(action, table, private)
    test.__doc__ = "%s in a %s room, every caller" % (
        action, "private" if private else "public")
    return test


class PublicRoomMatrixTest(MatrixBase):
    pass


class PrivateRoomMatrixTest(MatrixBase):
    pass


for _action in PUBLIC:
    setattr(PublicRoomMatrixTest, "test_" + _action,
            _make_test(_action, PUBLIC, False))
for _action in PRIVATE:
    setattr(PrivateRoomMatrixTest, "test_" + _action,
            _make_test(_action, PRIVATE, True))
del _action


class OpenRoomJoinTest(R.RoomTest):
    """A public room without approval: anyone may join; a full one is 409;
    a dissolved one is 404 for everyone."""

    def test_outsider_joins_open_room(self):
        owner, out = R.new_users(2)
        room = self.create_room(owner)
        r = R.r_join(out, room)
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, out, "member")

    def test_full_room_is_409(self):
        owner, a, b, inv = R.new_users(4)
        room = self.create_room(owner, max_members=2)
        self.invite(owner, room, inv)
        self.join(a, room)
        self.assertDetail(R.r_join(b, room), 409)
        # an invitation does not make room either
        self.assertDetail(R.r_join(inv, room), 409)
        # a member joining again is idempotent even when full
        self.assertStatus(R.r_join(a, room), 200)
        self.assertEqual(self.get_room(owner, room)["member_count"], 2)

    def test_dissolved_room_is_404_for_everyone(self):
        owner, mod, mem, inv, app, out = R.new_users(6)
        room = self.create_room(owner, require_approval=True)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        self.invite(owner, room, inv)
        a = self.apply(app, room)
        self.assertStatus(R.r_dissolve(owner, room), 204)
        for who, user in (("owner", owner), ("moderator", mod),
                          ("member", mem), ("invited", inv),
                          ("applied", app), ("outsider", out)):
            for action in ("view", "members", "join", "leave", "apply",
                           "messages", "applications", "invite", "config",
                           "dissolve", "kick_member", "transfer", "approve"):
                with self.subTest(caller=who, action=action):
                    fx = Fixture(room, a["id"], 0)
                    u = {"spare": out, "member2": mem, "moderator2": mod,
                         "owner": owner}
                    r = ACTIONS[action](user, fx, u)
                    self.assertDetail(r, 404)


class ViewByIdentityTest(R.RoomTest):
    """GET /rooms/{id} shows each identity exactly its part (SPEC 3)."""

    def test_each_identity_sees_its_view(self):
        owner, mod, mem, inv, app, out = R.new_users(6)
        room = self.create_room(owner, name="view " + yq.rand_str(6),
                                description="about", require_approval=True)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        invitation = self.invite(owner, room, inv)
        application = self.apply(app, room, "hello")
        for role, user in (("owner", owner), ("moderator", mod),
                           ("member", mem), ("invited", inv),
                           ("applied", app), ("none", out)):
            with self.subTest(identity=role):
                v = self.get_room(user, room)
                self.assertRoomView(v, role)
                self.assertEqual(v["id"], room["id"])
                self.assertEqual(v["name"], room["name"])
                self.assertEqual(v["description"], "about")
                self.assertUserRef(v["owner"], owner)
                self.assertEqual(v["member_count"], 3)
                self.assertEqual(v["config"], dict(R.DEFAULT_CONFIG,
                                                   require_approval=True))
                self.assertEqual(v["created_at"], room["created_at"])
                if role in ("owner", "moderator", "member"):
                    got = {m["id"]: m["role"] for m in v["members"]}
                    self.assertEqual(got, {owner.id: "owner",
                                           mod.id: "moderator",
                                           mem.id: "member"})
                    pb = v["playback"]
                    self.assertEqual(pb["state"], "paused")
                    self.assertEqual(pb["position_ms"], 0)
                if role in ("owner", "moderator"):
                    self.assertEqual([a["id"] for a in
                                      v["pending_applications"]],
                                     [application["id"]])
                    pa = v["pending_applications"][0]
                    self.assertUserRef(pa["user"], app)
                    self.assertEqual(pa["message"], "hello")
                    self.assertEqual([i["id"] for i in
                                      v["pending_invitations"]],
                                     [invitation["id"]])
                    self.assertUserRef(
                        v["pending_invitations"][0]["invitee"], inv)

    def test_private_room_view(self):
        owner, inv, out = R.new_users(3)
        room = self.create_room(owner, is_public=False)
        self.assertDetail(R.r_get(out, room), 404)
        self.assertDetail(R.r_get(inv, room), 404)
        self.invite(owner, room, inv)
        self.assertRoomView(self.get_room(inv, room), "invited")
        self.assertDetail(R.r_get(out, room), 404)
        # a 404 for a private room looks like the 404 of no room at all
        r1 = R.r_get(out, room)
        r2 = yq.get("/rooms/%d" % (room["id"] + 10 ** 12), token=out.access)
        self.assertEqual((r1.status, r1.json), (r2.status, r2.json))

    def test_create_config_transfer_views(self):
        owner, mem = R.new_users(2)
        room = self.create_room(owner)       # 201 view checked inside
        self.assertEqual(room["config"], R.DEFAULT_CONFIG)
        self.assertEqual(room["pending_applications"], [])
        self.assertEqual(room["pending_invitations"], [])
        self.assertEqual(room["member_count"], 1)
        self.add_member(owner, room, mem)
        r = R.r_config(owner, room, {"guest_control": True})
        self.assertStatus(r, 200)
        self.assertRoomView(r.json, "owner")
        self.assertTrue(r.json["config"]["guest_control"])
        r = R.r_transfer(owner, room, mem)
        self.assertStatus(r, 200)
        self.assertRoomView(r.json, "moderator")
        self.assertUserRef(r.json["owner"], mem)
