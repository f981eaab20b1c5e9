/*
 * rooms-applications.c - applications to rooms that require approval
 * (SPEC section 3): apply, the pending list, approve, reject.
 */
#include "config.h"

#include "api/rooms.h"

#include <string.h>

static void
apply_fields(struct yq_req *r, json_object *body, struct tx *t)
{
	room_id_field(r, body, t);
	t->u.apply.message = yq_body_str(r, body, "message", false, 0, 500, NULL);
}

static int
apply_fn(struct tx *t)
{
	static const char ins[] =
	        "INSERT INTO room_applications (room_id, user_id, message) VALUES (?, ?, ?)";
	static const char approvers[] = "SELECT user_id FROM room_members WHERE room_id = ? AND "
	                                "role IN ('owner', 'moderator')";
	static const char get[] = APPLICATION_SELECT "WHERE a.id = ?";
	struct yq_req *r = t->r;
	const char *message = t->u.apply.message ? t->u.apply.message : "";
	int rc = tx_room(t, YQ_ACT_NONE);
	struct yq_rows *rows;

	if (rc < 0)
		return rc;
	if (t->rm.role != YQ_ROLE_NONE)
		return tx_deny(t, 409, "You are already a member of this room");
	if (t->rm.applied)
		return tx_deny(t, 409, "You already have a pending application to this room");
	if (t->rm.invitation_id)
		return tx_deny(t, 409, "You are invited: join the room directly");
	if (!t->rm.require_approval)
		return tx_deny(t, 409, "This room does not require approval: join it directly");
	long long n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id),
	                         YQ_PSTR(message));
	if (n == YQ_EDUP)
		return tx_deny(t, 409, "You already have a pending application to this room");
	if (n < 0)
		return (int)n;
	long long app = (long long)yq_db_insert_id(r->db);
	if ((n = YQ_DB_EXEC(r->db, approvers, &rows, YQ_PINT(t->rm.id))) < 0)
		return (int)n;
	for (unsigned i = 0; i < rows->nrows && rc == 0; i++) {
		json_object *c = room_content(&t->rm, NULL);
		yq_json_add_int(c, "application_id", app);
		json_object_object_add(c, "applicant", yq_user_ref(r->user->id, r->user->username));
		yq_json_add_str(c, "message", message);
		rc = tx_tell(t, yq_rows_int(rows, i, 0), "room_application", c);
	}
	yq_rows_free(rows);
	return rc < 0 ? rc : tx_out_row(t, get, app, application_json);
}

/* POST /rooms/apply {room_id, message?} */
int
h_rooms_apply(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = apply_fn };

	return tx_body(r, &t, apply_fields, 201, TX_ANSWER_OUT);
}

/* GET /rooms/{id}/applications: pending ones, for approvers. */
int
h_rooms_applications(struct yq_req *r)
{
	static const char sql[] = APPLICATION_SELECT "WHERE a.room_id = ? AND a.status = 'pending' "
	                                             "AND a.id < ? ORDER BY a.id DESC LIMIT ?";
	struct yq_room rm;
	long long limit, before;

	if (room_for(r, r->ids[0], YQ_ACT_REVIEW, &rm) < 0)
		return -1;
	yq_query_page(r, true, &limit, &before);
	if (yq_http_invalid_done(r) < 0)
		return -1;
	return YQ_HTTP_PAGE(r, sql, limit, application_json, YQ_PINT(rm.id), YQ_PINT(before),
	                    YQ_PINT(limit + 1));
}

static int
decide_fn(struct tx *t)
{
	static const char find[] =
	        "SELECT a.status, a.user_id, u.username FROM room_applications a "
	        "JOIN users u ON u.id = a.user_id WHERE a.id = ? AND a.room_id = ? FOR UPDATE";
	static const char mark[] = "UPDATE room_applications SET status = ?, decided_by = ?, "
	                           "decided_at = NOW() WHERE id = ?";
	static const char get[] = APPLICATION_SELECT "WHERE a.id = ?";
	struct yq_req *r = t->r;
	long long app = t->u.decide.app_id;
	bool approve = t->u.decide.approve;
	const char *want = approve ? "approved" : "rejected";
	int rc = tx_room(t, YQ_ACT_REVIEW);
	struct yq_rows *rows;

	if (rc < 0)
		return rc;
	if ((rc = tx_lock_row(t, find, app, t->rm.id, "Application not found", &rows)) < 0)
		return rc;
	char status[16], name[33];
	yq_strlcpy(status, yq_rows_str(rows, 0, 0), sizeof(status));
	long long uid = yq_rows_int(rows, 0, 1);
	yq_strlcpy(name, yq_rows_str(rows, 0, 2), sizeof(name));
	yq_rows_free(rows);
	bool pending = strcmp(status, "pending") == 0;
	if (!pending && strcmp(status, want) != 0)
		return tx_deny(t, 409, "The application was already decided otherwise");
	if (pending) { /* deciding again the same way changes nothing */
		if (approve) {
			enum yq_role role;
			if ((rc = member_role(t, uid, &role, NULL, 0)) < 0)
				return rc;
			if (role == YQ_ROLE_NONE && (rc = add_member(t, uid, name)) < 0)
				return rc;
		}
		long long n = YQ_DB_EXEC(r->db, mark, NULL, YQ_PSTR(want), YQ_PINT(r->user->id),
		                         YQ_PINT(app));
		if (n < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, r->user);
		yq_json_add_int(c, "application_id", app);
		if ((rc = tx_tell(t, uid, approve ? "application_approved" : "application_rejected",
		                  c)) < 0)
			return rc;
	}
	return tx_out_row(t, get, app, application_json);
}

static int
decide(struct yq_req *r, bool approve)
{
	struct tx t = { .r = r,
		        .fn = decide_fn,
		        .room_id = r->ids[0],
		        .u.decide = { .app_id = r->ids[1], .approve = approve } };

	return tx_run(&t) < 0 ? -1 : yq_http_json(r, 200, t.out);
}

/* POST /rooms/{id}/applications/{app_id}/approve */
int
h_rooms_approve(struct yq_req *r)
{
	return decide(r, true);
}

/* POST /rooms/{id}/applications/{app_id}/reject */
int
h_rooms_reject(struct yq_req *r)
{
	return decide(r, false);
}
