/*
 * rooms-invitations.c - invitations (SPEC section 3): invite, my pending
 * invitations, decline.  Accepting one is joining (rooms-members.c).
 */
#include "config.h"

#include "api/rooms.h"

#include <string.h>

static int
invite_fn(struct tx *t)
{
	static const char target[] = "SELECT username FROM users WHERE id = ?";
	static const char ins[] =
	        "INSERT INTO room_invitations (room_id, inviter_id, invitee_id) VALUES (?, ?, ?)";
	static const char get[] = INVITATION_SELECT "WHERE i.id = ?";
	struct yq_req *r = t->r;
	long long uid = t->u.target.user_id;
	int rc = tx_room(t, YQ_ACT_INVITE);
	struct yq_rows *rows;
	enum yq_role role;

	if (rc < 0)
		return rc;
	long long n = YQ_DB_EXEC(r->db, target, &rows, YQ_PINT(uid));
	yq_rows_free(rows);
	if (n <= 0)
		return n < 0 ? (int)n : tx_deny(t, 404, "User not found");
	if ((rc = member_role(t, uid, &role, NULL, 0)) < 0)
		return rc;
	if (role != YQ_ROLE_NONE)
		return tx_deny(t, 409, "That user is already a member of this room");
	n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id), YQ_PINT(uid));
	if (n == YQ_EDUP)
		return tx_deny(t, 409, "That user already has a pending invitation to this room");
	if (n < 0)
		return (int)n;
	long long inv = (long long)yq_db_insert_id(r->db);
	json_object *c = room_content(&t->rm, NULL);
	yq_json_add_int(c, "invitation_id", inv);
	json_object_object_add(c, "inviter", yq_user_ref(r->user->id, r->user->username));
	if ((rc = tx_tell(t, uid, "room_invite", c)) < 0)
		return rc;
	return tx_out_row(t, get, inv, invitation_json);
}

static void
invite_fields(struct yq_req *r, json_object *body, struct tx *t)
{
	room_id_field(r, body, t);
	target_field(r, body, t);
}

/* POST /rooms/invite {room_id, user_id} */
int
h_rooms_invite(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = invite_fn };

	return tx_body(r, &t, invite_fields, 201, TX_ANSWER_OUT);
}

/* GET /rooms/invitations: my pending invitations. */
int
h_rooms_invitations(struct yq_req *r)
{
	static const char sql[] = INVITATION_SELECT
	        "WHERE i.invitee_id = ? AND i.status = 'pending' AND r.dissolved_at IS NULL "
	        "AND i.id < ? ORDER BY i.id DESC LIMIT ?";
	long long limit, before;

	yq_query_page(r, true, &limit, &before);
	if (yq_http_invalid_done(r) < 0)
		return -1;
	return YQ_HTTP_PAGE(r, sql, limit, invitation_json, YQ_PINT(r->user->id), YQ_PINT(before),
	                    YQ_PINT(limit + 1));
}

static int
decline_fn(struct tx *t)
{
	static const char find[] =
	        "SELECT i.status, i.room_id, i.inviter_id FROM room_invitations i "
	        "WHERE i.id = ? AND i.invitee_id = ? FOR UPDATE";
	static const char mark[] = "UPDATE room_invitations SET status = 'declined', responded_at "
	                           "= NOW() WHERE id = ?";
	static const char get[] = INVITATION_SELECT "WHERE i.id = ?";
	struct yq_req *r = t->r;
	long long inv = t->u.decline.inv_id;
	struct yq_rows *rows;
	int rc = tx_lock_row(t, find, inv, r->user->id, "Invitation not found", &rows);

	if (rc < 0)
		return rc;
	char status[16];
	yq_strlcpy(status, yq_rows_str(rows, 0, 0), sizeof(status));
	long long room_id = yq_rows_int(rows, 0, 1), inviter = yq_rows_int(rows, 0, 2);
	yq_rows_free(rows);
	if (strcmp(status, "cancelled") == 0)
		return tx_deny(t, 404, "Invitation not found");
	if (strcmp(status, "accepted") == 0)
		return tx_deny(t, 409, "The invitation was already accepted");
	if (strcmp(status, "pending") == 0) {
		/* the invitee's own invitation: no visibility rule to apply */
		if ((rc = room_load(r, room_id, true, &t->rm)) < 0)
			return rc;
		long long n = YQ_DB_EXEC(r->db, mark, NULL, YQ_PINT(inv));
		if (n < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, NULL);
		yq_json_add_int(c, "invitation_id", inv);
		json_object_object_add(c, "invitee", yq_user_ref(r->user->id, r->user->username));
		if ((rc = tx_tell(t, inviter, "invitation_declined", c)) < 0)
			return rc;
	}
	return tx_out_row(t, get, inv, invitation_json);
}

/* POST /rooms/invitations/{inv_id}/decline */
int
h_rooms_decline(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = decline_fn, .u.decline.inv_id = r->ids[0] };

	return tx_run(&t) < 0 ? -1 : yq_http_json(r, 200, t.out);
}
