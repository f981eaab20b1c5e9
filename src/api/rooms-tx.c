/*
 * rooms-tx.c - what every room handler stands on (rooms.h): loading a
 * room as the caller sees it, the one visibility/permission rule, the
 * transaction framework and the views.
 */
#include "config.h"

#include "api/rooms.h"

#include <string.h>

/* ---- loading and the rule ---- */

static void
room_from_row(const struct yq_rows *rows, unsigned i, struct yq_room *rm)
{
	yq_room_from_row(rows, i, rm);
	rm->online_count = yq_rows_int(rows, i, YQ_ROOM_COLUMNS);
}

int
room_load(struct yq_req *r, long long id, bool lock, struct yq_room *rm)
{
	static const char sql[] = ROOM_SELECT "WHERE r.id = ?";
	static const char lock_sql[] = "SELECT id FROM rooms WHERE id = ? FOR UPDATE";
	struct yq_rows *rows;
	long long n;

	if (lock && (n = YQ_DB_EXEC(r->db, lock_sql, NULL, YQ_PINT(id))) <= 0)
		return n < 0 ? (int)n : YQ_ENOTFOUND;
	n = YQ_DB_EXEC(r->db, sql, &rows, ROOM_SELECT_PARAMS(r), YQ_PINT(id));
	if (n < 0)
		return (int)n;
	if (n == 0) {
		yq_rows_free(rows);
		return YQ_ENOTFOUND;
	}
	room_from_row(rows, 0, rm);
	yq_rows_free(rows);
	return 0;
}

/* The rule, once: a room that is not there or not visible to the caller
 * is 404 (private rooms never leak), an action their role does not allow
 * is 403.  0 when the caller may go on, else the status and *detail. */
static int
room_refusal(int loaded, const struct yq_room *rm, enum yq_action act, const char **detail)
{
	if (loaded == YQ_ENOTFOUND || (loaded == 0 && !yq_room_visible(rm))) {
		*detail = "Room not found";
		return 404;
	}
	if (loaded == 0 && act != YQ_ACT_NONE &&
	    !yq_perm_allowed(rm->role, act, rm->guest_control)) {
		*detail = rm->role == YQ_ROLE_NONE ? "Only members of this room may do that"
		                                   : "Your role in this room does not allow that";
		return 403;
	}
	return 0;
}

int
room_for(struct yq_req *r, long long id, enum yq_action act, struct yq_room *rm)
{
	int rc = room_load(r, id, false, rm);
	const char *detail;
	int status = room_refusal(rc, rm, act, &detail);

	if (status)
		return yq_http_error(r, status, detail);
	return rc < 0 ? yq_http_fail(r, rc) : 0;
}

/* ---- transactions ---- */

int
tx_deny(struct tx *t, int status, const char *detail)
{
	t->status = status;
	t->detail = detail;
	return TX_DENY;
}

static int
tx_step(struct yq_db *db, void *arg)
{
	struct tx *t = arg;

	(void)db;
	json_object_put(t->out); /* a retried transaction starts over */
	t->out = NULL;
	return t->fn(t);
}

int
tx_run(struct tx *t)
{
	int rc = yq_db_tx(t->r->db, tx_step, t);

	if (rc >= 0)
		return 0;
	json_object_put(t->out);
	t->out = NULL;
	return rc == TX_DENY ? yq_http_error(t->r, t->status, t->detail) : yq_http_fail(t->r, rc);
}

int
tx_room(struct tx *t, enum yq_action act)
{
	int rc = room_load(t->r, t->room_id, true, &t->rm);
	const char *detail;
	int status = room_refusal(rc, &t->rm, act, &detail);

	return status ? tx_deny(t, status, detail) : rc;
}

int
tx_out_row(struct tx *t, const char *sql, long long id,
           json_object *(*row_json)(const struct yq_rows *rows, unsigned i))
{
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(t->r->db, sql, &rows, YQ_PINT(id));

	if (n < 0)
		return (int)n;
	if (n > 0)
		t->out = row_json(rows, 0);
	yq_rows_free(rows);
	return n > 0 ? 0 : YQ_EINTERNAL; /* written in this transaction: it is there */
}

int
tx_tell(struct tx *t, long long user_id, const char *type, json_object *content)
{
	int rc = yq_notify_in_tx(t->r->db, user_id, type, content, NULL);

	json_object_put(content);
	return rc;
}

int
tx_announce(struct tx *t, const char *event, json_object *payload)
{
	json_object_object_add(payload, "room_id", json_object_new_int64(t->rm.id));
	json_object *p = json_object_new_object();
	yq_json_add_str(p, "event", event);
	json_object_object_foreach (payload, k, v)
		json_object_object_add(p, k, json_object_get(v));
	json_object_put(payload);
	int rc = yq_queue_room_event(t->r->db, t->rm.id, "room_event", p, "");
	json_object_put(p);
	return rc;
}

json_object *
room_content(const struct yq_room *rm, const struct yq_user *by)
{
	json_object *c = json_object_new_object();

	yq_json_add_int(c, "room_id", rm->id);
	yq_json_add_str(c, "room_name", rm->name);
	if (by)
		json_object_object_add(c, "by", yq_user_ref(by->id, by->username));
	return c;
}

json_object *
member_payload(long long uid, const char *username, enum yq_role role)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "user", yq_user_ref(uid, username));
	if (role != YQ_ROLE_NONE)
		yq_json_add_str(p, "role", yq_role_name(role));
	return p;
}

json_object *
membership_json(const struct yq_room *rm, long long uid, enum yq_role role)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "room_id", rm->id);
	yq_json_add_int(o, "user_id", uid);
	yq_json_add_str(o, "role", yq_role_name(role));
	return o;
}

int
member_role(struct tx *t, long long uid, enum yq_role *role, char *username, size_t usz)
{
	static const char sql[] =
	        "SELECT m.role, u.username FROM room_members m JOIN users u ON u.id = m.user_id "
	        "WHERE m.room_id = ? AND m.user_id = ? FOR UPDATE";
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(t->r->db, sql, &rows, YQ_PINT(t->rm.id), YQ_PINT(uid));

	if (n < 0)
		return (int)n;
	*role = n ? yq_role_parse(yq_rows_str(rows, 0, 0)) : YQ_ROLE_NONE;
	if (n && username)
		yq_strlcpy(username, yq_rows_str(rows, 0, 1), usz);
	yq_rows_free(rows);
	return 0;
}

int
tx_room_member(struct tx *t, enum yq_action act, long long uid, enum yq_role *role, char *username)
{
	int rc = tx_room(t, act);

	*username = '\0';
	if (rc < 0 || (rc = member_role(t, uid, role, username, 33)) < 0)
		return rc;
	return *role == YQ_ROLE_NONE ? tx_deny(t, 404, "Not a member of this room") : 0;
}

int
tx_lock_row(struct tx *t, const char *sql, long long a, long long b, const char *detail,
            struct yq_rows **rows)
{
	long long n = YQ_DB_EXEC(t->r->db, sql, rows, YQ_PINT(a), YQ_PINT(b));

	if (n > 0)
		return 0;
	yq_rows_free(*rows);
	*rows = NULL;
	return n < 0 ? (int)n : tx_deny(t, 404, detail);
}

int
add_member(struct tx *t, long long uid, const char *username)
{
	static const char ins[] =
	        "INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, 'member')";
	static const char count[] = "UPDATE rooms SET member_count = member_count + 1 WHERE id = ?";

	if (t->rm.member_count >= t->rm.max_members)
		return tx_deny(t, 409, "Room is full");
	long long n = YQ_DB_EXEC(t->r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(uid));
	if (n < 0)
		return (int)n;
	if ((n = YQ_DB_EXEC(t->r->db, count, NULL, YQ_PINT(t->rm.id))) < 0)
		return (int)n;
	t->rm.member_count++;
	return tx_announce(t, "member_joined", member_payload(uid, username, YQ_ROLE_MEMBER));
}

int
remove_member(struct tx *t, long long uid)
{
	static const char del[] = "DELETE FROM room_members WHERE room_id = ? AND user_id = ?";
	static const char count[] = "UPDATE rooms SET member_count = member_count - 1 WHERE id = ?";
	long long n = YQ_DB_EXEC(t->r->db, del, NULL, YQ_PINT(t->rm.id), YQ_PINT(uid));

	if (n <= 0)
		return n < 0 ? (int)n : tx_deny(t, 404, "Not a member of this room");
	n = YQ_DB_EXEC(t->r->db, count, NULL, YQ_PINT(t->rm.id));
	return n < 0 ? (int)n : 0;
}

/* ---- handlers' shapes ---- */

int
tx_body(struct yq_req *r, struct tx *t, tx_fields fields, int status, enum tx_answer answer)
{
	json_object *body;
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	if (fields)
		fields(r, body, t);
	if (yq_http_invalid_done(r) == 0 && tx_run(t) == 0)
		rc = answer == TX_ANSWER_ROOM ? room_show(r, t->room_id, status)
		     : t->out                 ? yq_http_json(r, status, t->out)
		                              : yq_http_empty(r, status);
	json_object_put(body);
	return rc;
}

void
room_id_field(struct yq_req *r, json_object *body, struct tx *t)
{
	yq_body_int(r, body, "room_id", true, 1, INT64_MAX, &t->room_id);
}

void
target_field(struct yq_req *r, json_object *body, struct tx *t)
{
	yq_body_int(r, body, "user_id", true, 1, INT64_MAX, &t->u.target.user_id);
}

/* ---- views ---- */

static const char *
my_role(const struct yq_room *rm)
{
	if (rm->role != YQ_ROLE_NONE)
		return yq_role_name(rm->role);
	return rm->invitation_id ? "invited" : rm->applied ? "applied" : "none";
}

/* The view everyone who may see the room gets (and list items). */
static json_object *
room_summary(const struct yq_room *rm)
{
	json_object *o = yq_room_summary_json(rm);

	yq_json_add_int(o, "online_count", rm->online_count);
	yq_json_add_str(o, "my_role", my_role(rm));
	return o;
}

json_object *
room_item(const struct yq_rows *rows, unsigned i)
{
	struct yq_room rm;

	room_from_row(rows, i, &rm);
	return room_summary(&rm);
}

json_object *
member_json(const struct yq_rows *rows, unsigned i)
{
	json_object *m =
	        yq_member_json(yq_rows_int(rows, i, 0), yq_rows_str(rows, i, 1),
	                       yq_rows_str(rows, i, 2), yq_role_parse(yq_rows_str(rows, i, 3)));

	yq_json_add_str(m, "joined_at", yq_rows_str(rows, i, 4));
	yq_json_add_bool(m, "online", yq_rows_int(rows, i, 5));
	return m;
}

json_object *
application_json(const struct yq_rows *rows, unsigned i)
{
	json_object *a = json_object_new_object();

	yq_json_add_int(a, "id", yq_rows_int(rows, i, 0));
	yq_json_add_int(a, "room_id", yq_rows_int(rows, i, 1));
	json_object_object_add(a, "user",
	                       yq_user_ref(yq_rows_int(rows, i, 2), yq_rows_str(rows, i, 3)));
	yq_json_add_str(a, "message", yq_rows_str(rows, i, 4));
	yq_json_add_str(a, "status", yq_rows_str(rows, i, 5));
	yq_json_add_str(a, "created_at", yq_rows_str(rows, i, 6));
	return a;
}

json_object *
invitation_json(const struct yq_rows *rows, unsigned i)
{
	json_object *v = json_object_new_object();

	yq_json_add_int(v, "id", yq_rows_int(rows, i, 0));
	yq_json_add_int(v, "room_id", yq_rows_int(rows, i, 1));
	yq_json_add_str(v, "room_name", yq_rows_str(rows, i, 2));
	json_object_object_add(v, "inviter",
	                       yq_user_ref(yq_rows_int(rows, i, 3), yq_rows_str(rows, i, 4)));
	json_object_object_add(v, "invitee",
	                       yq_user_ref(yq_rows_int(rows, i, 5), yq_rows_str(rows, i, 6)));
	yq_json_add_str(v, "status", yq_rows_str(rows, i, 7));
	yq_json_add_str(v, "created_at", yq_rows_str(rows, i, 8));
	return v;
}

/* Add key: [row_json(row) for each row of sql run with the room id]. */
static int
add_rows(struct yq_req *r, const char *sql, const struct yq_param *params, unsigned np,
         const char *key, json_object *(*row_json)(const struct yq_rows *rows, unsigned i),
         json_object *o)
{
	struct yq_rows *rows;
	long long n = yq_db_exec(r->db, sql, params, np, &rows);

	if (n < 0)
		return (int)n;
	json_object *a = json_object_new_array();
	for (unsigned i = 0; i < rows->nrows; i++)
		json_object_array_add(a, row_json(rows, i));
	yq_rows_free(rows);
	json_object_object_add(o, key, a);
	return 0;
}

static int
add_members(struct yq_req *r, const struct yq_room *rm, json_object *o)
{
	static const char sql[] = YQ_ROOM_MEMBERS_SELECT;
	const struct yq_param p[] = { YQ_PINT(r->cfg->presence_ttl), YQ_PINT(rm->id) };

	return add_rows(r, sql, p, 2, "members", member_json, o);
}

static int
add_playback(struct yq_req *r, const struct yq_room *rm, json_object *o)
{
	static const char sql[] = YQ_PLAYBACK_SELECT;
	struct yq_rows *rows;
	struct yq_playback pb;
	long long n = YQ_DB_EXEC(r->db, sql, &rows, YQ_PINT(rm->id));

	if (n < 0)
		return (int)n;
	yq_playback_from_row(rows, 0, &pb);
	yq_rows_free(rows);
	json_object_object_add(o, "playback", yq_playback_json(&pb));
	return 0;
}

static int
add_pending(struct yq_req *r, const struct yq_room *rm, json_object *o)
{
	static const char apps[] = APPLICATION_SELECT
	        "WHERE a.room_id = ? AND a.status = 'pending' ORDER BY a.id LIMIT 100";
	static const char invs[] = INVITATION_SELECT
	        "WHERE i.room_id = ? AND i.status = 'pending' ORDER BY i.id LIMIT 100";
	const struct yq_param p[] = { YQ_PINT(rm->id) };
	int rc = add_rows(r, apps, p, 1, "pending_applications", application_json, o);

	return rc < 0 ? rc : add_rows(r, invs, p, 1, "pending_invitations", invitation_json, o);
}

int
room_view(struct yq_req *r, const struct yq_room *rm, int status)
{
	json_object *o = room_summary(rm);
	int rc = 0;

	if (rm->role != YQ_ROLE_NONE &&
	    ((rc = add_members(r, rm, o)) < 0 || (rc = add_playback(r, rm, o)) < 0))
		goto fail;
	if (yq_perm_allowed(rm->role, YQ_ACT_REVIEW, false) && (rc = add_pending(r, rm, o)) < 0)
		goto fail;
	return yq_http_json(r, status, o);
fail:
	json_object_put(o);
	return yq_http_fail(r, rc);
}

int
room_show(struct yq_req *r, long long id, int status)
{
	struct yq_room rm;
	int rc = room_load(r, id, false, &rm);

	return rc < 0 ? yq_http_fail(r, rc) : room_view(r, &rm, status);
}
