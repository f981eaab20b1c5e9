"""Room flows end to end (SPEC sections 3 and 4).

Each flow runs through the public API with fresh users and checks what each
step must produce: the statuses, the room as the people involved see it,
the notifications the right people get (GET /notifications/: type and
content fields), and, when the runner gives root SQL access
(YQ_DB_SOCKET), the room events written to event_queue (target_kind
'room', target_id the room, type 'room_event', payload {event, room_id,
...}).  Also: room listing and search, chat history, config changes.
"""

import base64
import urllib.parse

import yq
import yq_rooms as R

HAVE_DB = bool(yq.DB_SOCKET)


def b64(s):
    return base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode()


class FlowBase(R.RoomTest):

    def events(self, room, expected):
        """Check the room's queue events when root SQL is available."""
        if HAVE_DB:
            return self.assertEvents(room, expected)
        return None

    def invitation_ids(self, user):
        r = R.r_invitations(user, "?limit=100")
        self.assertStatus(r, 200)
        self.assertPage(r.json)
        for inv in r.json["items"]:
            self.assertInvitation(inv)
        return [i["id"] for i in r.json["items"]]


class JoinLeaveFlowTest(FlowBase):

    def test_public_join(self):
        owner, user = R.new_users(2)
        room = self.create_room(owner, name="open " + yq.rand_str(6))
        v = self.get_room(user, room)
        self.assertRoomView(v, "none")
        r = R.r_join(user, room)
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, user, "member")
        v = self.get_room(user, room)
        self.assertRoomView(v, "member")
        self.assertEqual(v["member_count"], 2)
        self.assertIn(user.id, [m["id"] for m in v["members"]])
        self.assertEqual(self.roles(owner, room),
                         {owner.id: "owner", user.id: "member"})
        # idempotent: same answer, counted once, no second event
        r = R.r_join(user, room)
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, user, "member")
        self.assertEqual(self.get_room(owner, room)["member_count"], 2)
        self.events(room, [("member_joined", {"user": user,
                                              "role": "member"})])
        # the room is listed as mine now
        r = R.r_list(user, "?mine=true&q=" + room["name"].split()[1])
        self.assertStatus(r, 200)
        self.assertEqual([i["id"] for i in r.json["items"]], [room["id"]])
        self.assertEqual(r.json["items"][0]["my_role"], "member")

    def test_leave(self):
        owner, mod, user = R.new_users(3)
        room = self.create_room(owner)
        self.add_member(owner, room, mod, "moderator")
        self.join(user, room)
        self.assertEqual(self.get_room(owner, room)["member_count"], 3)
        r = R.r_leave(user, room)
        self.assertStatus(r, 204)
        v = self.get_room(user, room)      # public: still visible
        self.assertRoomView(v, "none")
        self.assertEqual(v["member_count"], 2)
        self.assertNotIn(user.id, self.roles(owner, room))
        self.assertDetail(R.r_leave(user, room), 404)
        self.assertDetail(R.r_members(user, room), 403)
        # a moderator may leave; the owner may not
        self.assertStatus(R.r_leave(mod, room), 204)
        self.assertDetail(R.r_leave(owner, room), 409)
        self.assertEqual(self.get_room(owner, room)["member_count"], 1)
        self.events(room, [
            ("member_joined", {"user": mod}),
            ("role_changed", {"user": mod, "role": "moderator"}),
            ("member_joined", {"user": user}),
            ("member_left", {"user": user}),
            ("member_left", {"user": mod}),
        ])
        # and may join again
        self.assertStatus(R.r_join(user, room), 200)
        self.assertEqual(self.get_room(owner, room)["member_count"], 2)

    def test_leave_private_room_loses_access(self):
        owner, user = R.new_users(2)
        room = self.create_room(owner, is_public=False)
        self.add_member(owner, room, user)
        self.assertRoomView(self.get_room(user, room), "member")
        self.assertStatus(R.r_leave(user, room), 204)
        self.assertDetail(R.r_get(user, room), 404)
        self.assertDetail(R.r_join(user, room), 404)
        self.assertDetail(R.r_leave(user, room), 404)


class InvitationFlowTest(FlowBase):

    def test_private_invite_then_join_accepts(self):
        owner, mod, guest = R.new_users(3)
        room = self.create_room(owner, name="priv " + yq.rand_str(6),
                                is_public=False)
        self.add_member(owner, room, mod, "moderator")
        self.assertDetail(R.r_get(guest, room), 404)
        self.assertDetail(R.r_join(guest, room), 404)
        # a moderator invites
        r = R.r_invite(mod, room, guest)
        self.assertStatus(r, 201)
        inv = r.json
        self.assertInvitation(inv)
        self.assertEqual(inv["room_id"], room["id"])
        self.assertEqual(inv["room_name"], room["name"])
        self.assertUserRef(inv["inviter"], mod)
        self.assertUserRef(inv["invitee"], guest)
        # the guest is told, with the content SPEC section 4 names
        n = self.assertNotified(guest, "room_invite", room,
                                room_id=room["id"],
                                room_name=room["name"],
                                invitation_id=inv["id"], inviter=mod)
        self.assertTime(n["created_at"])
        self.assertEqual(self.invitation_ids(guest), [inv["id"]])
        self.assertRoomView(self.get_room(guest, room), "invited")
        # the approvers see it pending
        v = self.get_room(owner, room)
        self.assertEqual([i["id"] for i in v["pending_invitations"]],
                         [inv["id"]])
        # a second pending invitation of the same person is a conflict
        self.assertDetail(R.r_invite(owner, room, guest), 409)
        # joining accepts it
        r = R.r_join(guest, room)
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, guest, "member")
        self.assertNotified(mod, "invitation_accepted", room,
                            room_id=room["id"], invitation_id=inv["id"])
        # (the owner's one is for the moderator's own invitation)
        self.assertNotified(owner, "invitation_accepted", room, count=1)
        v = self.get_room(guest, room)
        self.assertRoomView(v, "member")
        self.assertEqual(v["member_count"], 3)
        self.assertEqual(self.invitation_ids(guest), [])
        self.assertEqual(self.get_room(owner, room)["pending_invitations"],
                         [])
        # inviting a member is a conflict; declining the accepted one too
        self.assertDetail(R.r_invite(owner, room, guest), 409)
        self.assertDetail(R.r_decline(guest, inv["id"]), 409)
        self.events(room, [("member_joined", {"user": mod}),
                           ("role_changed", {"user": mod}),
                           ("member_joined", {"user": guest})])

    def test_private_invite_decline(self):
        owner, guest, other = R.new_users(3)
        room = self.create_room(owner, is_public=False)
        inv = self.invite(owner, room, guest)
        self.assertNotified(guest, "room_invite", room,
                            invitation_id=inv["id"], inviter=owner)
        # someone else's invitation: 404, and nothing changes
        self.assertDetail(R.r_decline(other, inv["id"]), 404)
        self.assertDetail(R.r_decline(owner, inv["id"]), 404)
        self.assertEqual(self.invitation_ids(guest), [inv["id"]])
        r = R.r_decline(guest, inv["id"])
        self.assertStatus(r, 200)
        self.assertInvitation(r.json, "declined")
        self.assertEqual(r.json["id"], inv["id"])
        self.assertNotified(owner, "invitation_declined", room,
                            room_id=room["id"], invitation_id=inv["id"])
        # declining twice: same answer, no second notification
        r = R.r_decline(guest, inv["id"])
        self.assertStatus(r, 200)
        self.assertInvitation(r.json, "declined")
        self.assertNotified(owner, "invitation_declined", room)
        self.assertEqual(self.invitation_ids(guest), [])
        # the private room is hidden again and cannot be joined
        self.assertDetail(R.r_get(guest, room), 404)
        self.assertDetail(R.r_join(guest, room), 404)
        self.assertEqual(self.get_room(owner, room)["member_count"], 1)
        self.assertEqual(self.get_room(owner, room)["pending_invitations"],
                         [])
        # a new invitation may be sent after a decline
        inv2 = self.invite(owner, room, guest)
        self.assertNotEqual(inv2["id"], inv["id"])
        self.assertNotified(guest, "room_invite", room, count=2,
                            invitation_id=inv2["id"])
        self.events(room, [])

    def test_invitations_list_and_paging(self):
        guest = yq.new_user()
        owners = R.new_users(3)
        invs = []
        for o in owners:
            room = self.create_room(o, is_public=False)
            invs.append(self.invite(o, room, guest))
        seen, cursor, pages = [], None, 0
        while True:
            r = R.r_invitations(guest, "?limit=2" + ("&cursor=" + cursor
                                                     if cursor else ""))
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertLessEqual(len(r.json["items"]), 2)
            for i in r.json["items"]:
                self.assertInvitation(i)
                self.assertUserRef(i["invitee"], guest)
            seen += [i["id"] for i in r.json["items"]]
            cursor = r.json["next_cursor"]
            pages += 1
            self.assertLess(pages, 5)
            if cursor is None:
                break
        self.assertEqual(sorted(seen), sorted(i["id"] for i in invs))
        self.assertEqual(pages, 2)
        # each shows its room and inviter
        r = R.r_invitations(guest)
        by_id = {i["id"]: i for i in r.json["items"]}
        for o, inv in zip(owners, invs):
            self.assertUserRef(by_id[inv["id"]]["inviter"], o)
            self.assertEqual(by_id[inv["id"]]["room_id"], inv["room_id"])
        # nobody else sees them
        for o in owners:
            self.assertEqual(R.r_invitations(o).json["items"], [])

    def test_invite_rules(self):
        owner, mem, guest = R.new_users(3)
        room = self.create_room(owner)
        self.add_member(owner, room, mem)
        self.assertDetail(R.r_invite(mem, room, guest), 403)
        self.assertDetail(R.r_invite(owner, room, mem), 409)
        self.assertDetail(R.r_invite(owner, room, owner), 409)
        self.assertDetail(R.r_invite(owner, room, 10 ** 15), 404)
        self.assertNotNotified(guest, "room_invite", room)
        self.assertEqual(self.invitation_ids(guest), [])


class MembersListTest(FlowBase):

    def test_members_list(self):
        owner, mod, mem, out = R.new_users(4)
        room = self.create_room(owner)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        for viewer in (owner, mod, mem):
            items = self.members(viewer, room)
            self.assertEqual({m["id"]: m["role"] for m in items},
                             {owner.id: "owner", mod.id: "moderator",
                              mem.id: "member"})
            by_id = {m["id"]: m for m in items}
            self.assertEqual(by_id[mem.id]["username"], mem.username)
        self.assertDetail(R.r_members(out, room), 403)

    def test_members_list_pages_like_every_list(self):
        """SPEC section 1: lists take ?limit= (default 20, max 100) and
        ?cursor=; a room has up to 1000 members."""
        owner = yq.new_user()
        users = R.new_users(4)
        room = self.create_room(owner)
        for u in users:
            self.join(u, room)
        everyone = sorted([owner.id] + [u.id for u in users])
        seen, cursor, pages = [], None, 0
        while True:
            r = yq.get("/rooms/%d/members?limit=2%s" % (
                room["id"], "&cursor=" + cursor if cursor else ""),
                token=owner.access)
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertLessEqual(len(r.json["items"]), 2,
                                 "?limit=2 ignored: %r" % (r,))
            seen += [m["id"] for m in r.json["items"]]
            cursor = r.json["next_cursor"]
            pages += 1
            self.assertLess(pages, 10)
            if cursor is None:
                break
        self.assertEqual(sorted(seen), everyone)
        self.assertEqual(pages, 3)
        for q in ("limit=0", "limit=101", "limit=abc", "cursor=%21"):
            with self.subTest(q=q):
                r = yq.get("/rooms/%d/members?%s" % (room["id"], q),
                           token=owner.access)
                self.assert422(r, ["query", q.split("=")[0]])


class ApplicationFlowTest(FlowBase):

    def approval_room(self, **cfg):
        owner, mod, mem, applicant = R.new_users(4)
        room = self.create_room(owner, name="appr " + yq.rand_str(6),
                                require_approval=True, **cfg)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        return owner, mod, mem, applicant, room

    def test_apply_then_approve(self):
        owner, mod, mem, applicant, room = self.approval_room()
        r = R.r_join(applicant, room)
        self.assertDetail(r, 403)
        msg = "I like films 中文 😀"
        r = R.r_apply(applicant, room, msg)
        self.assertStatus(r, 201)
        app = r.json
        self.assertApplication(app)
        self.assertEqual(app["room_id"], room["id"])
        self.assertUserRef(app["user"], applicant)
        self.assertEqual(app["message"], msg)
        # every approver is told; the plain member is not
        for approver in (owner, mod):
            self.assertNotified(approver, "room_application", room,
                                room_id=room["id"], application_id=app["id"])
        self.assertNotNotified(mem, "room_application", room)
        self.assertNotNotified(applicant, "room_application", room)
        self.assertDetail(R.r_apply(applicant, room, "again"), 409)
        self.assertRoomView(self.get_room(applicant, room), "applied")
        # the approvers list it; a member may not
        for approver in (owner, mod):
            r = R.r_applications(approver, room)
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertEqual([a["id"] for a in r.json["items"]], [app["id"]])
            self.assertApplication(r.json["items"][0])
            self.assertEqual(r.json["items"][0]["message"], msg)
        self.assertDetail(R.r_applications(mem, room), 403)
        # a moderator approves
        r = R.r_approve(mod, room, app["id"])
        self.assertStatus(r, 200)
        self.assertApplication(r.json, "approved")
        self.assertEqual(r.json["id"], app["id"])
        self.assertNotified(applicant, "application_approved", room,
                            room_id=room["id"], application_id=app["id"])
        v = self.get_room(applicant, room)
        self.assertRoomView(v, "member")
        self.assertEqual(v["member_count"], 4)
        r = R.r_applications(owner, room)
        self.assertEqual(r.json["items"], [])
        # approving twice: 200 again, added once, told once
        r = R.r_approve(owner, room, app["id"])
        self.assertStatus(r, 200)
        self.assertApplication(r.json, "approved")
        self.assertEqual(self.get_room(owner, room)["member_count"], 4)
        self.assertEqual(list(self.roles(owner, room).values()).count(
            "member"), 2)
        self.assertNotified(applicant, "application_approved", room)
        # rejecting an approved one is a conflict
        self.assertDetail(R.r_reject(owner, room, app["id"]), 409)
        self.assertDetail(R.r_apply(applicant, room), 409)    # member now
        self.events(room, [("member_joined", {"user": mod}),
                           ("role_changed", {"user": mod}),
                           ("member_joined", {"user": mem}),
                           ("member_joined", {"user": applicant,
                                              "role": "member"})])

    def test_apply_then_reject(self):
        owner, mod, mem, applicant, room = self.approval_room()
        app = self.apply(applicant, room)
        self.assertEqual(app["message"], "")
        r = R.r_reject(owner, room, app["id"])
        self.assertStatus(r, 200)
        self.assertApplication(r.json, "rejected")
        self.assertNotified(applicant, "application_rejected", room,
                            room_id=room["id"], application_id=app["id"])
        self.assertNotNotified(applicant, "application_approved", room)
        v = self.get_room(applicant, room)
        self.assertRoomView(v, "none")
        self.assertEqual(v["member_count"], 3)
        # rejecting twice: 200; approving a rejected one: 409
        r = R.r_reject(mod, room, app["id"])
        self.assertStatus(r, 200)
        self.assertApplication(r.json, "rejected")
        self.assertNotified(applicant, "application_rejected", room)
        self.assertDetail(R.r_approve(owner, room, app["id"]), 409)
        self.assertEqual(self.get_room(owner, room)["member_count"], 3)
        self.assertDetail(R.r_join(applicant, room), 403)
        # a rejected applicant may apply again
        app2 = self.apply(applicant, room, "second try")
        self.assertNotEqual(app2["id"], app["id"])
        self.assertNotified(owner, "room_application", room, count=2,
                            application_id=app2["id"])
        self.events(room, [("member_joined", {"user": mod}),
                           ("role_changed", {"user": mod}),
                           ("member_joined", {"user": mem})])

    def test_applications_list_paging(self):
        owner = yq.new_user()
        room = self.create_room(owner, require_approval=True)
        apps = [self.apply(u, room, "n%d" % i)
                for i, u in enumerate(R.new_users(5))]
        seen, cursor = [], None
        for _ in range(10):
            r = R.r_applications(owner, room, "?limit=2" + (
                "&cursor=" + cursor if cursor else ""))
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertLessEqual(len(r.json["items"]), 2)
            seen += [a["id"] for a in r.json["items"]]
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(sorted(seen), sorted(a["id"] for a in apps))
        self.assertEqual(len(seen), len(set(seen)))
        # decided ones leave the list
        self.assertStatus(R.r_approve(owner, room, apps[0]["id"]), 200)
        self.assertStatus(R.r_reject(owner, room, apps[1]["id"]), 200)
        r = R.r_applications(owner, room, "?limit=100")
        self.assertEqual(sorted(a["id"] for a in r.json["items"]),
                         sorted(a["id"] for a in apps[2:]))

    def test_apply_rules(self):
        owner, mem, user = R.new_users(3)
        open_room = self.create_room(owner)
        self.assertDetail(R.r_apply(user, open_room), 409)
        room = self.create_room(owner, require_approval=True)
        self.add_member(owner, room, mem)
        self.assertDetail(R.r_apply(mem, room), 409)
        self.assertDetail(R.r_apply(owner, room), 409)
        r = R.r_apply(user, room, "x" * 501)
        self.assert422(r, ["body", "message"])
        app = self.apply(user, room, "y" * 500)
        self.assertEqual(app["message"], "y" * 500)
        self.assertNotified(owner, "room_application", room)

    def test_approve_when_full(self):
        owner, a, b = R.new_users(3)
        room = self.create_room(owner, require_approval=True, max_members=2)
        app_a = self.apply(a, room)
        app_b = self.apply(b, room)
        self.assertStatus(R.r_approve(owner, room, app_a["id"]), 200)
        self.assertDetail(R.r_approve(owner, room, app_b["id"]), 409)
        self.assertNotNotified(b, "application_approved", room)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 2)
        self.assertEqual([x["id"] for x in v["pending_applications"]],
                         [app_b["id"]])
        # still pending: it may be rejected
        r = R.r_reject(owner, room, app_b["id"])
        self.assertStatus(r, 200)
        self.assertApplication(r.json, "rejected")

    def test_application_of_other_room_is_404(self):
        owner, owner2, applicant = R.new_users(3)
        room = self.create_room(owner, require_approval=True)
        other = self.create_room(owner2, require_approval=True)
        app = self.apply(applicant, other)
        self.assertDetail(R.r_approve(owner, room, app["id"]), 404)
        self.assertDetail(R.r_reject(owner, room, app["id"]), 404)
        self.assertDetail(R.r_approve(owner, room, 10 ** 15), 404)
        v = self.get_room(owner2, other)
        self.assertEqual(v["member_count"], 1)
        self.assertEqual([x["id"] for x in v["pending_applications"]],
                         [app["id"]])
        self.assertEqual(self.get_room(owner, room)["member_count"], 1)


class ModerationFlowTest(FlowBase):

    def test_kick(self):
        owner, mod, mod2, mem, mem2 = R.new_users(5)
        room = self.create_room(owner, name="kick " + yq.rand_str(6),
                                is_public=False)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mod2, "moderator")
        self.add_member(owner, room, mem)
        self.add_member(owner, room, mem2)
        # the owner kicks a member
        self.assertStatus(R.r_kick(owner, room, mem), 204)
        self.assertNotified(mem, "member_kicked", room, room_id=room["id"],
                            room_name=room["name"])
        self.assertDetail(R.r_get(mem, room), 404)   # private: gone
        self.assertDetail(R.r_members(mem, room), 404)
        self.assertDetail(R.r_messages(mem, room), 404)
        self.assertDetail(R.r_join(mem, room), 404)
        self.assertDetail(R.r_kick(owner, room, mem), 404)
        # a moderator kicks a member, not a moderator nor the owner
        self.assertDetail(R.r_kick(mod, room, mod2), 403)
        self.assertDetail(R.r_kick(mod, room, owner), 403)
        self.assertStatus(R.r_kick(mod, room, mem2), 204)
        self.assertNotified(mem2, "member_kicked", room, room_id=room["id"])
        # the owner kicks a moderator
        self.assertStatus(R.r_kick(owner, room, mod2), 204)
        self.assertNotified(mod2, "member_kicked", room)
        self.assertNotNotified(mod, "member_kicked", room)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 2)
        self.assertEqual(self.roles(owner, room),
                         {owner.id: "owner", mod.id: "moderator"})
        self.events(room, [
            ("member_joined", {"user": mod}),
            ("role_changed", {"user": mod, "role": "moderator"}),
            ("member_joined", {"user": mod2}),
            ("role_changed", {"user": mod2, "role": "moderator"}),
            ("member_joined", {"user": mem}),
            ("member_joined", {"user": mem2}),
            ("member_kicked", {"user": mem}),
            ("member_kicked", {"user": mem2}),
            ("member_kicked", {"user": mod2}),
        ])
        # a kicked user may be invited back
        self.add_member(owner, room, mem)
        self.assertRoomView(self.get_room(mem, room), "member")

    def test_role_change(self):
        owner, mem, guest = R.new_users(3)
        room = self.create_room(owner, require_approval=True)
        self.add_member(owner, room, mem)
        self.assertDetail(R.r_invite(mem, room, guest), 403)
        r = R.r_set_role(owner, room, mem, "moderator")
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, mem, "moderator")
        self.assertNotified(mem, "role_changed", room, room_id=room["id"],
                            role="moderator")
        self.assertRoomView(self.get_room(mem, room), "moderator")
        self.assertEqual(self.roles(owner, room)[mem.id], "moderator")
        # the new moderator can do moderator things, not owner things
        self.assertStatus(R.r_applications(mem, room), 200)
        self.invite(mem, room, guest)
        self.assertDetail(R.r_config(mem, room, {"name": "nope"}), 403)
        self.assertDetail(R.r_set_role(mem, room, mem, "member"), 403)
        # and back
        r = R.r_set_role(owner, room, mem, "member")
        self.assertStatus(r, 200)
        self.assertMembership(r.json, room, mem, "member")
        self.assertNotified(mem, "role_changed", room, count=2,
                            role="member")
        self.assertRoomView(self.get_room(mem, room), "member")
        self.assertDetail(R.r_applications(mem, room), 403)
        # rules: the owner's role changes only by transfer; non-members 404;
        # only member and moderator may be set
        self.assertDetail(R.r_set_role(owner, room, owner, "member"), 409)
        self.assertDetail(R.r_set_role(owner, room, guest, "member"), 404)
        for role in ("owner", "admin", "", "MODERATOR"):
            with self.subTest(role=role):
                self.assert422(R.r_set_role(owner, room, mem, role),
                               ["body", "role"])
        self.events(room, [("member_joined", {"user": mem}),
                           ("role_changed", {"user": mem,
                                             "role": "moderator"}),
                           ("role_changed", {"user": mem,
                                             "role": "member"})])

    def test_transfer(self):
        owner, mod, mem, out = R.new_users(4)
        room = self.create_room(owner, name="xfer " + yq.rand_str(6))
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        self.assertDetail(R.r_transfer(owner, room, out), 404)
        self.assertDetail(R.r_transfer(owner, room, owner), 409)
        self.assertDetail(R.r_transfer(mod, room, mem), 403)
        r = R.r_transfer(owner, room, mem)
        self.assertStatus(r, 200)
        self.assertRoomView(r.json, "moderator")
        self.assertUserRef(r.json["owner"], mem)
        self.assertNotified(mem, "role_changed", room, room_id=room["id"],
                            role="owner")
        self.assertEqual(self.roles(mem, room),
                         {owner.id: "moderator", mod.id: "moderator",
                          mem.id: "owner"})
        self.assertRoomView(self.get_room(mem, room), "owner")
        self.assertEqual(self.get_room(mem, room)["member_count"], 3)
        # the old owner lost the owner's rights, the new one has them
        self.assertDetail(R.r_config(owner, room, {"name": "old"}), 403)
        self.assertDetail(R.r_dissolve(owner, room), 403)
        r = R.r_config(mem, room, {"name": "new owner's"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["name"], "new owner's")
        # the new owner cannot leave; the old one now can
        self.assertDetail(R.r_leave(mem, room), 409)
        self.assertStatus(R.r_leave(owner, room), 204)
        self.events(room, [
            ("member_joined", {"user": mod}),
            ("role_changed", {"user": mod}),
            ("member_joined", {"user": mem}),
            ("owner_changed", {"new_owner": mem, "old_owner": owner}),
            ("config_updated", {"name": "new owner's"}),
            ("member_left", {"user": owner}),
        ])

    def test_dissolve(self):
        owner, mod, mem, guest, applicant, out = R.new_users(6)
        room = self.create_room(owner, name="gone " + yq.rand_str(6),
                                require_approval=True)
        self.add_member(owner, room, mod, "moderator")
        self.add_member(owner, room, mem)
        inv = self.invite(owner, room, guest)
        self.apply(applicant, room)
        self.assertEqual(self.invitation_ids(guest), [inv["id"]])
        self.assertDetail(R.r_dissolve(mod, room), 403)
        self.assertDetail(R.r_dissolve(mem, room), 403)
        self.assertStatus(R.r_dissolve(owner, room), 204)
        for user in (mod, mem):
            self.assertNotified(user, "room_dissolved", room,
                                room_id=room["id"], room_name=room["name"])
        self.assertNotNotified(owner, "room_dissolved", room)
        for user in (owner, mod, mem, guest, applicant, out):
            with self.subTest(user=user.username):
                self.assertDetail(R.r_get(user, room), 404)
                self.assertDetail(R.r_join(user, room), 404)
        self.assertDetail(R.r_dissolve(owner, room), 404)
        self.assertEqual(self.invitation_ids(guest), [])
        self.assertDetail(R.r_decline(guest, inv["id"]), 404)
        for user in (owner, mod, mem):
            r = R.r_list(user, "?mine=true")
            self.assertStatus(r, 200)
            self.assertNotIn(room["id"], [i["id"] for i in r.json["items"]])
        r = R.r_list(out, "?q=" + room["name"].split()[1])
        self.assertEqual(r.json["items"], [])
        if HAVE_DB:
            rows = self.events(room, [
                ("member_joined", {"user": mod}),
                ("role_changed", {"user": mod}),
                ("member_joined", {"user": mem}),
                ("dissolved", {}),
            ])
            self.assertEqual(rows[-1][1].get("by", {}).get("id"), owner.id,
                             "%r" % (rows[-1],))

    def test_full_flow_queue_events(self):
        """One room through every kind of change; its queue rows are exactly
        these events in this order."""
        if not HAVE_DB:
            self.skipTest("needs YQ_DB_SOCKET (root SQL)")
        owner, a, b, c = R.new_users(4)
        room = self.create_room(owner)
        self.events(room, [])
        self.join(a, room)
        self.join(b, room)
        self.set_role(owner, room, a, "moderator")
        r = R.r_config(owner, room, {"description": "now with rules",
                                     "config": {"guest_control": True}})
        self.assertStatus(r, 200)
        self.assertStatus(R.r_kick(a, room, b), 204)
        self.join(c, room)
        self.assertStatus(R.r_leave(c, room), 204)
        self.assertStatus(R.r_transfer(owner, room, a), 200)
        self.assertStatus(R.r_dissolve(a, room), 204)
        rows = self.events(room, [
            ("member_joined", {"user": a, "role": "member"}),
            ("member_joined", {"user": b, "role": "member"}),
            ("role_changed", {"user": a, "role": "moderator"}),
            ("config_updated", {"description": "now with rules"}),
            ("member_kicked", {"user": b}),
            ("member_joined", {"user": c}),
            ("member_left", {"user": c}),
            ("owner_changed", {"new_owner": a, "old_owner": owner}),
            ("dissolved", {}),
        ])
        cfg = rows[3][1]["config"]
        self.assertTrue(cfg["guest_control"], "%r" % (rows[3],))
        self.assertEqual(cfg["max_members"], 50)
        # the REST rows are not from a ws node
        self.assertEqual(yq.sql_int(
            "SELECT COUNT(*) FROM event_queue WHERE target_kind = 'room' "
            "AND target_id = %d AND origin <> '';" % room["id"]), 0)


class ConfigFlowTest(FlowBase):

    def test_every_setting(self):
        owner, mem = R.new_users(2)
        room = self.create_room(owner)
        self.add_member(owner, room, mem)
        change = {"is_public": False, "require_approval": True,
                  "keep_chat_history": False, "sync_playback": False,
                  "guest_control": True, "max_members": 2}
        r = R.r_config(owner, room, dict(change, name="renamed",
                                         description="new text"))
        self.assertStatus(r, 200)
        self.assertRoomView(r.json, "owner")
        self.assertEqual(r.json["config"], change)
        self.assertEqual(r.json["name"], "renamed")
        self.assertEqual(r.json["description"], "new text")
        v = self.get_room(mem, room)
        self.assertEqual(v["config"], change)
        self.assertEqual(v["name"], "renamed")
        # the same inside "config"; fields not given stay as they are
        back = dict(R.DEFAULT_CONFIG, max_members=1000)
        r = R.r_config(owner, room, {"config": back})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["config"], back)
        self.assertEqual(r.json["name"], "renamed")
        self.assertEqual(r.json["description"], "new text")
        r = R.r_config(owner, room, {"description": ""})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["description"], "")
        self.assertEqual(r.json["config"], back)
        r = R.r_config(owner, room, {})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["config"], back)

    def test_name_and_description_inside_config(self):
        """Every field may come inside "config" as well as at the top."""
        owner = yq.new_user()
        room = self.create_room(owner, name="outer", description="outer d")
        r = R.r_config(owner, room, {"config": {"name": "inner",
                                                "description": "inner d"}})
        self.assertStatus(r, 200)
        self.assertEqual((r.json["name"], r.json["description"]),
                         ("inner", "inner d"),
                         "name/description inside config ignored: %r" % (r,))
        v = self.get_room(owner, room)
        self.assertEqual((v["name"], v["description"]), ("inner", "inner d"))
        for bad in ({"name": "x" * 65}, {"name": "   "}, {"name": ""},
                    {"name": 5}, {"description": "x" * 501},
                    {"description": ["d"]}):
            with self.subTest(config=bad):
                r = R.r_config(owner, room, {"config": bad})
                self.assert422(r)
                self.assertIn(list(bad)[0], str(r.json["detail"]))
        v = self.get_room(owner, room)
        self.assertEqual((v["name"], v["description"]), ("inner", "inner d"))

    def test_max_members_below_count_is_409(self):
        owner, a, b = R.new_users(3)
        room = self.create_room(owner)
        self.join(a, room)
        self.join(b, room)
        self.assertDetail(R.r_config(owner, room, {"max_members": 2}), 409)
        self.assertDetail(R.r_config(owner, room,
                                     {"config": {"max_members": 2}}), 409)
        self.assertEqual(self.get_room(owner, room)["config"]["max_members"],
                         50)
        r = R.r_config(owner, room, {"max_members": 3})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["config"]["max_members"], 3)
        c = yq.new_user()
        self.assertDetail(R.r_join(c, room), 409)

    def test_private_and_approval_take_effect(self):
        owner, out, other = R.new_users(3)
        room = self.create_room(owner)
        self.assertRoomView(self.get_room(out, room), "none")
        self.assertStatus(R.r_config(owner, room, {"is_public": False}), 200)
        self.assertDetail(R.r_get(out, room), 404)
        self.assertDetail(R.r_join(out, room), 404)
        self.assertStatus(R.r_config(owner, room, {"is_public": True,
                                                   "require_approval": True}),
                          200)
        self.assertDetail(R.r_join(out, room), 403)
        self.apply(out, room)
        self.assertStatus(R.r_config(owner, room,
                                     {"require_approval": False}), 200)
        self.assertStatus(R.r_join(other, room), 200)


class RoomListTest(FlowBase):

    def test_public_and_mine_newest_first_with_paging(self):
        tag = "lst" + yq.rand_str(10)
        owner, stranger, member = R.new_users(3)
        ids = []
        for i in range(5):
            ids.append(self.create_room(owner, name="%s %d" % (tag, i))["id"])
        private = self.create_room(owner, name=tag + " private",
                                   is_public=False)
        self.add_member(owner, private, member)
        others_private = self.create_room(stranger, name=tag + " hidden",
                                          is_public=False)
        # the owner sees everything of theirs, newest first
        r = R.r_list(owner, "?q=" + tag)
        self.assertStatus(r, 200)
        self.assertPage(r.json)
        got = [i["id"] for i in r.json["items"]]
        self.assertEqual(got, [private["id"]] + ids[::-1])
        self.assertIsNone(r.json["next_cursor"])
        for item in r.json["items"]:
            self.assertRoomView(item, "owner", summary=True)
        # a stranger sees the public ones and their own private room only
        r = R.r_list(stranger, "?q=" + tag)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         [others_private["id"]] + ids[::-1])
        self.assertEqual([i["my_role"] for i in r.json["items"]],
                         ["owner"] + ["none"] * 5)
        # a member sees the private room they belong to
        r = R.r_list(member, "?q=" + tag)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         [private["id"]] + ids[::-1])
        r = R.r_list(member, "?mine=true&q=" + tag)
        self.assertEqual([i["id"] for i in r.json["items"]], [private["id"]])
        self.assertEqual(r.json["items"][0]["my_role"], "member")
        r = R.r_list(stranger, "?mine=true&q=" + tag)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         [others_private["id"]])
        for mine in ("true", "1"):
            r = R.r_list(owner, "?mine=%s&q=%s" % (mine, tag))
            self.assertEqual(len(r.json["items"]), 6)
        for mine in ("false", "0"):
            r = R.r_list(stranger, "?mine=%s&q=%s" % (mine, tag))
            self.assertEqual(len(r.json["items"]), 6)
        # paging: limit 2 walks the same list in 3 pages
        seen, cursor, pages = [], None, 0
        while True:
            q = "?limit=2&q=" + tag + ("&cursor=" + cursor if cursor else "")
            r = R.r_list(stranger, q)
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertLessEqual(len(r.json["items"]), 2)
            seen += [i["id"] for i in r.json["items"]]
            cursor = r.json["next_cursor"]
            pages += 1
            self.assertLess(pages, 10)
            if cursor is None:
                break
        self.assertEqual(seen, [others_private["id"]] + ids[::-1])
        self.assertEqual(pages, 3)

    def test_mine_without_q_and_default_list(self):
        owner, other = R.new_users(2)
        a = self.create_room(owner, is_public=False)
        b = self.create_room(owner)
        r = R.r_list(owner, "?mine=true")
        self.assertStatus(r, 200)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         [b["id"], a["id"]])
        r = R.r_list(other, "?mine=true")
        self.assertEqual(r.json["items"], [])
        self.assertIsNone(r.json["next_cursor"])
        # the newest public room is on the first page of everyone's list
        r = R.r_list(other)
        self.assertStatus(r, 200)
        self.assertPage(r.json)
        got = [i["id"] for i in r.json["items"]]
        self.assertIn(b["id"], got)
        self.assertNotIn(a["id"], got)
        self.assertEqual(got, sorted(got, reverse=True))
        self.assertLessEqual(len(got), 20)          # the default limit
        if r.json["next_cursor"] is not None:
            self.assertEqual(len(got), 20)

    def test_q_is_a_literal_substring(self):
        tag = "lit" + yq.rand_str(10)
        owner = yq.new_user()
        plain = self.create_room(owner, name=tag + " abc")
        pct = self.create_room(owner, name=tag + " 50%_off\\x")
        sqlname = self.create_room(owner, name="'; DROP TABLE rooms; -- "
                                   + tag)
        for q, want in ((tag, [sqlname, pct, plain]),
                        (tag + " 50%", [pct]),
                        (tag + " 50%_", [pct]),
                        (tag + " 50%_off\\", [pct]),
                        ("'; DROP TABLE rooms; --", [sqlname])):
            with self.subTest(q=q):
                r = R.r_list(owner, "?q=" + urllib.parse.quote(q))
                self.assertStatus(r, 200)
                got = [i["id"] for i in r.json["items"]]
                if q.startswith("'"):
                    self.assertIn(sqlname["id"], got)
                    for item in r.json["items"]:
                        self.assertIn(q, item["name"])
                else:
                    self.assertEqual(got, [w["id"] for w in want])
        # % and _ are not wildcards: every hit holds them literally
        for q in ("%", "_", "\\", tag[:3] + "_" + tag[4:]):
            with self.subTest(q=q):
                r = R.r_list(owner, "?q=" + urllib.parse.quote(q)
                             + "&limit=100")
                self.assertStatus(r, 200)
                for item in r.json["items"]:
                    self.assertIn(q.lower(), item["name"].lower(),
                                  "q=%r matched %r" % (q, item["name"]))
        r = R.r_list(owner, "?q=" + urllib.parse.quote("%"))
        self.assertIn(pct["id"], [i["id"] for i in r.json["items"]])
        # the names came back verbatim
        self.assertEqual(self.get_room(owner, pct)["name"],
                         tag + " 50%_off\\x")
        self.assertEqual(self.get_room(owner, sqlname)["name"],
                         "'; DROP TABLE rooms; -- " + tag)

    def test_q_length_counts_characters(self):
        """A room's whole name (up to 64 characters, any script) is a
        valid search for it."""
        owner = yq.new_user()
        tag = yq.rand_str(6)
        for name in ("中" * 58 + tag, "é" * 58 + tag, "😀" * 58 + tag):
            with self.subTest(name=name[:3]):
                room = self.create_room(owner, name=name)
                r = R.r_list(owner, "?mine=true&q=" + urllib.parse.quote(name))
                self.assertStatus(r, 200)
                self.assertEqual([i["id"] for i in r.json["items"]],
                                 [room["id"]])

    def test_bad_list_queries(self):
        u = yq.new_user()
        for q, loc in (("?mine=maybe", ["query", "mine"]),
                       ("?mine=", ["query", "mine"]),
                       ("?limit=0", ["query", "limit"]),
                       ("?limit=101", ["query", "limit"]),
                       ("?limit=abc", ["query", "limit"]),
                       ("?cursor=" + b64("abc"), ["query", "cursor"]),
                       ("?cursor=" + b64("-5"), ["query", "cursor"])):
            with self.subTest(q=q):
                self.assert422(R.r_list(u, q), loc)
        # broken percent-encoding: a client error, never a 5xx
        self.assertDetail(R.r_list(u, "?cursor=%%%"), 400, 422)


class MessagesTest(FlowBase):

    def test_empty_history(self):
        owner, mem = R.new_users(2)
        room = self.create_room(owner)
        self.join(mem, room)
        for user in (owner, mem):
            r = R.r_messages(user, room)
            self.assertStatus(r, 200)
            self.assertPage(r.json)
            self.assertEqual(r.json["items"], [])
            self.assertIsNone(r.json["next_cursor"])
        self.assert422(R.r_messages(owner, room, "?before_id=abc"),
                       ["query", "before_id"])
        self.assert422(R.r_messages(owner, room, "?before_id=-1"),
                       ["query", "before_id"])
        self.assert422(R.r_messages(owner, room, "?limit=0"),
                       ["query", "limit"])

    def test_history_paging_newest_first(self):
        if not HAVE_DB:
            self.skipTest("needs YQ_DB_SOCKET (root SQL) to write chat rows")
        owner, mem, late = R.new_users(3)
        room = self.create_room(owner)
        self.join(mem, room)
        texts = ["m%d '; DROP TABLE chat_messages; -- 中文 %%_\\" % i
                 for i in range(7)]
        ids = [R.insert_chat(room, owner if i % 2 else mem, t)
               for i, t in enumerate(texts)]
        r = R.r_messages(mem, room)
        self.assertStatus(r, 200)
        items = r.json["items"]
        self.assertEqual([m["id"] for m in items], ids[::-1])
        self.assertEqual([m["text"] for m in items], texts[::-1])
        self.assertEqual(items[0]["user_id"], mem.id)
        self.assertEqual(items[0]["username"], mem.username)
        self.assertIsNone(r.json["next_cursor"])
        # paging with limit and cursor
        seen, cursor = [], None
        for _ in range(10):
            q = "?limit=3" + ("&cursor=" + cursor if cursor else "")
            r = R.r_messages(owner, room, q)
            self.assertStatus(r, 200)
            self.assertLessEqual(len(r.json["items"]), 3)
            seen += [m["id"] for m in r.json["items"]]
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, ids[::-1])
        # before_id
        r = R.r_messages(owner, room, "?before_id=%d" % ids[3])
        self.assertStatus(r, 200)
        self.assertEqual([m["id"] for m in r.json["items"]], ids[:3][::-1])
        r = R.r_messages(owner, room, "?before_id=%d&limit=2" % ids[3])
        self.assertEqual([m["id"] for m in r.json["items"]],
                         [ids[2], ids[1]])
        # a newcomer sees the history too (keep_chat_history)
        self.join(late, room)
        r = R.r_messages(late, room)
        self.assertEqual(len(r.json["items"]), 7)
        # without keep_chat_history the list is empty
        self.assertStatus(R.r_config(owner, room,
                                     {"keep_chat_history": False}), 200)
        for user in (owner, mem, late):
            r = R.r_messages(user, room)
            self.assertStatus(r, 200)
            self.assertEqual(r.json["items"], [])
            self.assertIsNone(r.json["next_cursor"])
        # other rooms' messages never show
        room2 = self.create_room(owner)
        self.assertEqual(R.r_messages(owner, room2).json["items"], [])
