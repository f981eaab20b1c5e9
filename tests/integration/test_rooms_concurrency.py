"""Rooms under concurrent requests (SPEC section 3).

Requests are released together by a barrier, one thread and one connection
each (yq.request opens a connection per request).  Whatever the order the
pool serves them in, capacity holds, a membership is counted once and a
decision is made once.
"""

import yq
import yq_rooms as R

HAVE_DB = bool(yq.DB_SOCKET)


class ConcurrencyTest(R.RoomTest):

    def member_ids(self, owner, room):
        ids = [m["id"] for m in self.members(owner, room)]
        self.assertEqual(len(ids), len(set(ids)), "a member listed twice: %r"
                         % ids)
        return ids

    def joined_events(self, room):
        return [p for _, p in R.room_events(room)
                if p.get("event") == "member_joined"]

    def test_twenty_join_a_room_with_ten_places(self):
        owner = yq.new_user()
        users = R.new_users(20)
        room = self.create_room(owner, max_members=10)
        results = R.in_parallel([lambda u=u: R.r_join(u, room)
                                 for u in users])
        statuses = [r.status for r in results]
        self.assertEqual(sorted(statuses), [200] * 9 + [409] * 11,
                         "statuses: %r" % (results,))
        for u, r in zip(users, results):
            if r.status == 200:
                self.assertMembership(r.json, room, u, "member")
            else:
                self.assertDetail(r, 409)
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 10)
        joined = {u.id for u, r in zip(users, results) if r.status == 200}
        self.assertEqual(set(self.member_ids(owner, room)),
                         joined | {owner.id})
        # the losers are not members, the winners are
        for u, r in zip(users, results):
            self.assertRoomView(self.get_room(u, room),
                                "member" if r.status == 200 else "none")
        if HAVE_DB:
            ev = self.joined_events(room)
            self.assertEqual(sorted(p["user"]["id"] for p in ev),
                             sorted(joined))
        # still full afterwards; a place freed is taken by exactly one
        late = yq.new_user()
        self.assertDetail(R.r_join(late, room), 409)
        leaver = next(u for u, r in zip(users, results) if r.status == 200)
        self.assertStatus(R.r_leave(leaver, room), 204)
        losers = [u for u, r in zip(users, results) if r.status == 409][:5]
        again = R.in_parallel([lambda u=u: R.r_join(u, room)
                               for u in losers])
        self.assertEqual(sorted(r.status for r in again), [200] + [409] * 4,
                         "%r" % (again,))
        self.assertEqual(self.get_room(owner, room)["member_count"], 10)
        self.assertEqual(len(self.member_ids(owner, room)), 10)

    def test_same_user_joins_twice_at_once(self):
        for _ in range(5):
            owner, user = R.new_users(2)
            room = self.create_room(owner)
            results = R.in_parallel([lambda: R.r_join(user, room)] * 2)
            for r in results:
                self.assertStatus(r, 200)
                self.assertMembership(r.json, room, user, "member")
            v = self.get_room(owner, room)
            self.assertEqual(v["member_count"], 2)
            self.assertEqual(sorted(self.member_ids(owner, room)),
                             sorted([owner.id, user.id]))
            if HAVE_DB:
                self.assertEqual(len(self.joined_events(room)), 1)

    def test_same_user_joins_many_times_at_once(self):
        owner, user = R.new_users(2)
        room = self.create_room(owner, max_members=2)
        results = R.in_parallel([lambda: R.r_join(user, room)] * 8)
        self.assertEqual([r.status for r in results], [200] * 8,
                         "%r" % (results,))
        self.assertEqual(self.get_room(owner, room)["member_count"], 2)

    def test_invited_user_joins_twice_at_once(self):
        owner, user = R.new_users(2)
        room = self.create_room(owner, is_public=False)
        inv = self.invite(owner, room, user)
        results = R.in_parallel([lambda: R.r_join(user, room)] * 2)
        for r in results:
            self.assertStatus(r, 200)
        self.assertEqual(self.get_room(owner, room)["member_count"], 2)
        self.assertNotified(owner, "invitation_accepted", room, count=1,
                            invitation_id=inv["id"])

    def test_two_moderators_approve_at_once(self):
        for _ in range(3):
            owner, mod1, mod2, applicant = R.new_users(4)
            room = self.create_room(owner, require_approval=True)
            self.add_member(owner, room, mod1, "moderator")
            self.add_member(owner, room, mod2, "moderator")
            app = self.apply(applicant, room)
            results = R.in_parallel([
                lambda: R.r_approve(mod1, room, app["id"]),
                lambda: R.r_approve(mod2, room, app["id"])])
            for r in results:
                self.assertStatus(r, 200)
                self.assertApplication(r.json, "approved")
            v = self.get_room(owner, room)
            self.assertEqual(v["member_count"], 4)
            ids = self.member_ids(owner, room)
            self.assertEqual(ids.count(applicant.id), 1)
            self.assertEqual(v["pending_applications"], [])
            self.assertNotified(applicant, "application_approved", room,
                                count=1, application_id=app["id"])
            if HAVE_DB:
                ev = [p for p in self.joined_events(room)
                      if p["user"]["id"] == applicant.id]
                self.assertEqual(len(ev), 1, "%r" % (ev,))

    def test_approve_and_reject_at_once(self):
        owner, mod, applicant = R.new_users(3)
        room = self.create_room(owner, require_approval=True)
        self.add_member(owner, room, mod, "moderator")
        app = self.apply(applicant, room)
        results = R.in_parallel([
            lambda: R.r_approve(owner, room, app["id"]),
            lambda: R.r_reject(mod, room, app["id"])])
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200, 409], "%r" % (results,))
        approved = results[0].status == 200
        v = self.get_room(applicant, room)
        self.assertEqual(v["my_role"], "member" if approved else "none")
        self.assertEqual(v["member_count"], 3 if approved else 2)
        self.assertEqual(
            len(self.notified(applicant, "application_approved", room))
            + len(self.notified(applicant, "application_rejected", room)), 1)

    def test_two_moderators_invite_the_same_user_at_once(self):
        owner, mod, guest = R.new_users(3)
        room = self.create_room(owner, is_public=False)
        self.add_member(owner, room, mod, "moderator")
        results = R.in_parallel([lambda: R.r_invite(owner, room, guest),
                                 lambda: R.r_invite(mod, room, guest)])
        self.assertEqual(sorted(r.status for r in results), [201, 409],
                         "%r" % (results,))
        self.assertNotified(guest, "room_invite", room, count=1)
        r = R.r_invitations(guest)
        self.assertEqual(len([i for i in r.json["items"]
                              if i["room_id"] == room["id"]]), 1)

    def test_same_user_applies_twice_at_once(self):
        owner, applicant = R.new_users(2)
        room = self.create_room(owner, require_approval=True)
        results = R.in_parallel([lambda: R.r_apply(applicant, room, "a"),
                                 lambda: R.r_apply(applicant, room, "b")])
        self.assertEqual(sorted(r.status for r in results), [201, 409],
                         "%r" % (results,))
        r = R.r_applications(owner, room)
        self.assertEqual(len(r.json["items"]), 1)
        self.assertNotified(owner, "room_application", room, count=1)

    def test_kick_and_leave_at_once(self):
        owner, user = R.new_users(2)
        room = self.create_room(owner)
        self.join(user, room)
        results = R.in_parallel([lambda: R.r_kick(owner, room, user),
                                 lambda: R.r_leave(user, room)])
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [204, 404], "%r" % (results,))
        v = self.get_room(owner, room)
        self.assertEqual(v["member_count"], 1)
        self.assertEqual(self.member_ids(owner, room), [owner.id])

    def test_joins_while_dissolving(self):
        owner = yq.new_user()
        users = R.new_users(6)
        room = self.create_room(owner)
        fns = [lambda: R.r_dissolve(owner, room)] + \
            [lambda u=u: R.r_join(u, room) for u in users]
        results = R.in_parallel(fns)
        self.assertStatus(results[0], 204)
        joined = [u for u, r in zip(users, results[1:]) if r.status == 200]
        for r in results[1:]:
            self.assertIn(r.status, (200, 404), "%r" % (r,))
        # everyone who got in before the end is told; nobody is left inside
        for u in joined:
            self.assertNotified(u, "room_dissolved", room, count=1)
        for u in users:
            self.assertDetail(R.r_get(u, room), 404)
            self.assertDetail(R.r_join(u, room), 404)

    def test_capacity_holds_while_max_members_is_lowered(self):
        for _ in range(3):
            owner = yq.new_user()
            users = R.new_users(8)
            room = self.create_room(owner)
            fns = [lambda: R.r_config(owner, room, {"max_members": 4})] + \
                [lambda u=u: R.r_join(u, room) for u in users]
            results = R.in_parallel(fns)
            self.assertIn(results[0].status, (200, 409), "%r" % results[0])
            joined = [r for r in results[1:] if r.status == 200]
            for r in results[1:]:
                self.assertIn(r.status, (200, 409), "%r" % (r,))
            v = self.get_room(owner, room)
            self.assertEqual(v["member_count"], 1 + len(joined))
            self.assertEqual(len(self.member_ids(owner, room)),
                             v["member_count"])
            self.assertLessEqual(v["member_count"],
                                 v["config"]["max_members"])
            self.assertEqual(v["config"]["max_members"],
                             4 if results[0].status == 200 else 50)
