/*
 * rooms-roles.c - roles (SPEC section 3): set a member's role (member or
 * moderator), transfer the room to another member.
 */
#include "config.h"

#include "api/rooms.h"

static void
role_field(struct yq_req *r, json_object *body, struct tx *t)
{
	const char *role = yq_body_str(r, body, "role", true, 1, 16, NULL);

	t->u.set_role.role = yq_role_parse(role);
	if (role && t->u.set_role.role != YQ_ROLE_MEMBER && t->u.set_role.role != YQ_ROLE_MODERATOR)
		yq_http_invalid(
		        r, "body", "role", "enum",
		        "Input should be 'member' or 'moderator' (use transfer for the owner)");
}

static int
set_role_fn(struct tx *t)
{
	static const char upd[] =
	        "UPDATE room_members SET role = ? WHERE room_id = ? AND user_id = ?";
	struct yq_req *r = t->r;
	long long uid = t->u.set_role.user_id;
	enum yq_role role = t->u.set_role.role;
	enum yq_role cur;
	char name[33];
	int rc = tx_room_member(t, YQ_ACT_SET_ROLE, uid, &cur, name);

	if (rc < 0)
		return rc;
	if (cur == YQ_ROLE_OWNER)
		return tx_deny(t, 409, "The owner's role changes only by transfer");
	if (cur != role) {
		long long n = YQ_DB_EXEC(r->db, upd, NULL, YQ_PSTR(yq_role_name(role)),
		                         YQ_PINT(t->rm.id), YQ_PINT(uid));
		if (n < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, r->user);
		yq_json_add_str(c, "role", yq_role_name(role));
		if ((rc = tx_tell(t, uid, "role_changed", c)) < 0 ||
		    (rc = tx_announce(t, "role_changed", member_payload(uid, name, role))) < 0)
			return rc;
	}
	t->out = membership_json(&t->rm, uid, role);
	return 0;
}

/* PUT /rooms/{id}/members/{user_id} {role} */
int
h_rooms_set_role(struct yq_req *r)
{
	struct tx t = {
		.r = r, .fn = set_role_fn, .room_id = r->ids[0], .u.set_role.user_id = r->ids[1]
	};

	return tx_body(r, &t, role_field, 200, TX_ANSWER_OUT);
}

static int
transfer_fn(struct tx *t)
{
	static const char demote[] =
	        "UPDATE room_members SET role = 'moderator' WHERE room_id = ? AND user_id = ?";
	static const char promote[] =
	        "UPDATE room_members SET role = 'owner' WHERE room_id = ? AND user_id = ?";
	static const char owner[] =
	        "UPDATE rooms SET owner_id = ?, updated_at = NOW() WHERE id = ?";
	struct yq_req *r = t->r;
	long long uid = t->u.target.user_id;
	enum yq_role target;
	char name[33];
	int rc = tx_room_member(t, YQ_ACT_TRANSFER, uid, &target, name);

	if (rc < 0)
		return rc;
	if (uid == r->user->id) /* the owner is a member: not refused above */
		return tx_deny(t, 409, "You already own this room");
	long long n = YQ_DB_EXEC(r->db, demote, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id));
	if (n >= 0)
		n = YQ_DB_EXEC(r->db, promote, NULL, YQ_PINT(t->rm.id), YQ_PINT(uid));
	if (n >= 0)
		n = YQ_DB_EXEC(r->db, owner, NULL, YQ_PINT(uid), YQ_PINT(t->rm.id));
	if (n < 0)
		return (int)n;
	json_object *c = room_content(&t->rm, r->user);
	yq_json_add_str(c, "role", "owner");
	if ((rc = tx_tell(t, uid, "role_changed", c)) < 0)
		return rc;
	json_object *p = json_object_new_object();
	json_object_object_add(p, "old_owner", yq_user_ref(r->user->id, r->user->username));
	json_object_object_add(p, "new_owner", yq_user_ref(uid, name));
	return tx_announce(t, "owner_changed", p);
}

/* POST /rooms/{id}/transfer {user_id} */
int
h_rooms_transfer(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = transfer_fn, .room_id = r->ids[0] };

	return tx_body(r, &t, target_field, 200, TX_ANSWER_ROOM);
}
