/*
 * rooms-members.c - membership (SPEC section 3): join, leave, the member
 * list, kick.
 */
#include "config.h"

#include "api/rooms.h"

static int
join_fn(struct tx *t)
{
	static const char accept[] = "UPDATE room_invitations SET status = 'accepted', "
	                             "responded_at = NOW() WHERE id = ?";
	static const char inviter[] = "SELECT inviter_id FROM room_invitations WHERE id = ?";
	struct yq_req *r = t->r;
	int rc = tx_room(t, YQ_ACT_NONE);

	if (rc < 0)
		return rc;
	if (t->rm.role != YQ_ROLE_NONE) {
		t->out = membership_json(&t->rm, r->user->id, t->rm.role);
		return 0; /* already a member: idempotent */
	}
	if (t->rm.invitation_id) {
		if ((rc = add_member(t, r->user->id, r->user->username)) < 0)
			return rc;
		struct yq_rows *rows;
		long long n = YQ_DB_EXEC(r->db, accept, NULL, YQ_PINT(t->rm.invitation_id));
		if (n < 0 ||
		    (n = YQ_DB_EXEC(r->db, inviter, &rows, YQ_PINT(t->rm.invitation_id))) < 0)
			return (int)n;
		long long who = rows->nrows ? yq_rows_int(rows, 0, 0) : 0;
		yq_rows_free(rows);
		if (who) {
			json_object *c = room_content(&t->rm, NULL);
			yq_json_add_int(c, "invitation_id", t->rm.invitation_id);
			json_object_object_add(c, "invitee",
			                       yq_user_ref(r->user->id, r->user->username));
			if ((rc = tx_tell(t, who, "invitation_accepted", c)) < 0)
				return rc;
		}
	} else if (!t->rm.is_public) {
		return tx_deny(t, 404, "Room not found");
	} else if (t->rm.require_approval) {
		return tx_deny(t, 403, "This room requires approval: apply to join");
	} else if ((rc = add_member(t, r->user->id, r->user->username)) < 0) {
		return rc;
	}
	t->out = membership_json(&t->rm, r->user->id, YQ_ROLE_MEMBER);
	return 0;
}

/* POST /rooms/join {room_id} */
int
h_rooms_join(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = join_fn };

	return tx_body(r, &t, room_id_field, 200, TX_ANSWER_OUT);
}

static int
leave_fn(struct tx *t)
{
	int rc = tx_room(t, YQ_ACT_NONE);

	if (rc < 0)
		return rc;
	if (t->rm.role == YQ_ROLE_NONE)
		return tx_deny(t, 404, "You are not a member of this room");
	if (t->rm.role == YQ_ROLE_OWNER)
		return tx_deny(t, 409, "The owner cannot leave: transfer the room or dissolve it");
	if ((rc = remove_member(t, t->r->user->id)) < 0)
		return rc;
	return tx_announce(t, "member_left",
	                   member_payload(t->r->user->id, t->r->user->username, YQ_ROLE_NONE));
}

/* POST /rooms/leave {room_id} */
int
h_rooms_leave(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = leave_fn };

	return tx_body(r, &t, room_id_field, 204, TX_ANSWER_OUT);
}

/* GET /rooms/{id}/members: members only, by user id, paged. */
int
h_rooms_members(struct yq_req *r)
{
	static const char sql[] =
	        "SELECT u.id, u.username, u.avatar_url, m.role, "
	        "DATE_FORMAT(m.joined_at, '%Y-%m-%dT%H:%i:%sZ'), "
	        "EXISTS (SELECT 1 FROM presence p WHERE p.user_id = u.id "
	        "AND p.seen_at > NOW() - INTERVAL ? SECOND) "
	        "FROM room_members m JOIN users u ON u.id = m.user_id "
	        "WHERE m.room_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?";
	struct yq_room rm;
	long long limit, after;

	if (room_for(r, r->ids[0], YQ_ACT_CHAT, &rm) < 0)
		return -1;
	yq_query_page(r, false, &limit, &after);
	if (yq_http_invalid_done(r) < 0)
		return -1;
	return YQ_HTTP_PAGE(r, sql, limit, member_json, YQ_PINT(r->cfg->presence_ttl),
	                    YQ_PINT(rm.id), YQ_PINT(after), YQ_PINT(limit + 1));
}

static int
kick_fn(struct tx *t)
{
	struct yq_req *r = t->r;
	long long uid = t->u.target.user_id;
	enum yq_role target;
	char name[33];
	int rc = tx_room_member(t, YQ_ACT_KICK, uid, &target, name);

	if (rc < 0)
		return rc;
	if (!yq_perm_can_kick(t->rm.role, target))
		return tx_deny(t, 403, "You can only kick members with a lower role");
	if ((rc = remove_member(t, uid)) < 0 ||
	    (rc = tx_tell(t, uid, "member_kicked", room_content(&t->rm, r->user))) < 0)
		return rc;
	json_object *p = member_payload(uid, name, YQ_ROLE_NONE);
	json_object_object_add(p, "by", yq_user_ref(r->user->id, r->user->username));
	return tx_announce(t, "member_kicked", p);
}

/* DELETE /rooms/{id}/members/{user_id} */
int
h_rooms_kick(struct yq_req *r)
{
	struct tx t = {
		.r = r, .fn = kick_fn, .room_id = r->ids[0], .u.target.user_id = r->ids[1]
	};

	return tx_run(&t) < 0 ? -1 : yq_http_empty(r, 204);
}
