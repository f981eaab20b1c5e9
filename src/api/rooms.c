/*
 * rooms.c - SPEC section 3: rooms, membership, invitations, applications,
 * roles, chat history.
 *
 * Every handler starts from room_load(), which reads the room together
 * with the caller's relation to it (role, pending invitation, pending
 * application).  What the caller may see and do is then decided in one
 * place each: yq_room_visible() (404 otherwise, so private rooms never leak)
 * and yq_perm_allowed() from src/core/perm.c (403 otherwise).
 *
 * Changes run in transactions (tx_run) that first lock the room row, so
 * capacity checks and state transitions are serialized per room: 20 users
 * joining a room with 10 places at once fill exactly the free places.
 * Each change creates, in the same transaction, the notifications of SPEC
 * section 4 and the room event the ws daemons broadcast.
 */
#include "config.h"

#include "api/handlers.h"
#include "core/json.h"
#include "core/notify.h"
#include "core/perm.h"
#include "core/roomview.h"

#include <stdio.h>
#include <string.h>

#define TX_DENY (-100)

/* the room row with the caller's relation (src/core/roomview.h), and the
 * members online (REST's one extra column) */
#define ROOM_SELECT                                                                      \
	YQ_ROOM_SELECT(", (SELECT COUNT(DISTINCT mm.user_id) FROM room_members mm JOIN " \
	               "presence p ON p.user_id = mm.user_id AND p.seen_at > NOW() - "   \
	               "INTERVAL ? SECOND WHERE mm.room_id = r.id)")

#define ROOM_SELECT_PARAMS(r)                                                            \
	YQ_PINT((r)->user->id), YQ_PINT((r)->user->id), YQ_PINT((r)->cfg->presence_ttl), \
	        YQ_PINT((r)->user->id)

static void
room_from_row(const struct yq_rows *rows, unsigned i, struct yq_room *rm)
{
	yq_room_from_row(rows, i, rm);
	rm->online_count = yq_rows_int(rows, i, YQ_ROOM_COLUMNS);
}

/* Load room id as seen by the caller; YQ_ENOTFOUND when there is none.
 * With lock, the room row is locked first (inside a transaction). */
static int
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

/* a row of YQ_ROOM_MEMBERS_SELECT */
static json_object *
member_json(const struct yq_rows *rows, unsigned i)
{
	json_object *m =
	        yq_member_json(yq_rows_int(rows, i, 0), yq_rows_str(rows, i, 1),
	                       yq_rows_str(rows, i, 2), yq_role_parse(yq_rows_str(rows, i, 3)));

	yq_json_add_str(m, "joined_at", yq_rows_str(rows, i, 4));
	yq_json_add_bool(m, "online", yq_rows_int(rows, i, 5));
	return m;
}

static int
add_members(struct yq_req *r, const struct yq_room *rm, json_object *o)
{
	static const char sql[] = YQ_ROOM_MEMBERS_SELECT;
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, sql, &rows, YQ_PINT(r->cfg->presence_ttl), YQ_PINT(rm->id));

	if (n < 0)
		return (int)n;
	json_object *a = json_object_new_array();
	for (unsigned i = 0; i < rows->nrows; i++)
		json_object_array_add(a, member_json(rows, i));
	yq_rows_free(rows);
	json_object_object_add(o, "members", a);
	return 0;
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

static json_object *
application_json(const struct yq_rows *rows, unsigned i)
{
	/* id, room_id, user id, username, message, status, created_at */
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

#define APPLICATION_SELECT                                                \
	"SELECT a.id, a.room_id, u.id, u.username, a.message, a.status, " \
	"DATE_FORMAT(a.created_at, '%Y-%m-%dT%H:%i:%sZ') "                \
	"FROM room_applications a JOIN users u ON u.id = a.user_id "

static json_object *
invitation_json(const struct yq_rows *rows, unsigned i)
{
	/* id, room_id, room name, inviter id, inviter name, invitee id,
	 * invitee name, status, created_at */
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

#define INVITATION_SELECT                                                                \
	"SELECT i.id, i.room_id, r.name, a.id, a.username, b.id, b.username, i.status, " \
	"DATE_FORMAT(i.created_at, '%Y-%m-%dT%H:%i:%sZ') "                               \
	"FROM room_invitations i JOIN rooms r ON r.id = i.room_id "                      \
	"JOIN users a ON a.id = i.inviter_id JOIN users b ON b.id = i.invitee_id "

static int
add_pending(struct yq_req *r, const struct yq_room *rm, json_object *o)
{
	static const char apps[] = APPLICATION_SELECT
	        "WHERE a.room_id = ? AND a.status = 'pending' ORDER BY a.id LIMIT 100";
	static const char invs[] = INVITATION_SELECT
	        "WHERE i.room_id = ? AND i.status = 'pending' ORDER BY i.id LIMIT 100";
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, apps, &rows, YQ_PINT(rm->id));

	if (n < 0)
		return (int)n;
	json_object *a = json_object_new_array();
	for (unsigned i = 0; i < rows->nrows; i++)
		json_object_array_add(a, application_json(rows, i));
	yq_rows_free(rows);
	json_object_object_add(o, "pending_applications", a);
	if ((n = YQ_DB_EXEC(r->db, invs, &rows, YQ_PINT(rm->id))) < 0)
		return (int)n;
	a = json_object_new_array();
	for (unsigned i = 0; i < rows->nrows; i++)
		json_object_array_add(a, invitation_json(rows, i));
	yq_rows_free(rows);
	json_object_object_add(o, "pending_invitations", a);
	return 0;
}

/* The room as this caller may see it (SPEC: "by identity"). */
static int
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

/* Load a room for a handler: 404 unless visible, then the permission. */
static int
room_for(struct yq_req *r, long long id, bool lock, enum yq_action act, struct yq_room *rm)
{
	int rc = room_load(r, id, lock, rm);

	if (rc == YQ_ENOTFOUND || (rc == 0 && !yq_room_visible(rm)))
		return yq_http_error(r, 404, "Room not found");
	if (rc < 0)
		return yq_http_fail(r, rc);
	if (act != YQ_ACT_COUNT && !yq_perm_allowed(rm->role, act, rm->guest_control))
		return yq_http_error(r, 403,
		                     rm->role == YQ_ROLE_NONE
		                             ? "Only members of this room may do that"
		                             : "Your role in this room does not allow that");
	return 0;
}

/* ---- transactions ---- */

struct tx {
	struct yq_req *r;
	int (*fn)(struct tx *t);
	struct yq_room rm;
	int status;
	const char *detail;
	/* inputs and outputs of the particular handler */
	long long room_id, user_id, app_id, inv_id;
	const char *text;
	enum yq_role role;
	json_object *body;
	json_object *out;
};

static int
deny(struct tx *t, int status, const char *detail)
{
	t->status = status;
	t->detail = detail;
	return TX_DENY;
}

static int
tx_body(struct yq_db *db, void *arg)
{
	struct tx *t = arg;

	(void)db;
	json_object_put(t->out); /* a retried transaction starts over */
	t->out = NULL;
	return t->fn(t);
}

static int
tx_run(struct tx *t)
{
	int rc = yq_db_tx(t->r->db, tx_body, t);

	if (rc == TX_DENY) {
		json_object_put(t->out);
		return yq_http_error(t->r, t->status, t->detail);
	}
	if (rc < 0) {
		json_object_put(t->out);
		return yq_http_fail(t->r, rc);
	}
	return 0;
}

/* Lock and load the room inside a transaction, mapping visibility and
 * permission to TX_DENY. */
static int
tx_room(struct tx *t, long long id, enum yq_action act)
{
	int rc = room_load(t->r, id, true, &t->rm);

	if (rc == YQ_ENOTFOUND || (rc == 0 && !yq_room_visible(&t->rm)))
		return deny(t, 404, "Room not found");
	if (rc < 0)
		return rc;
	if (act != YQ_ACT_COUNT && !yq_perm_allowed(t->rm.role, act, t->rm.guest_control))
		return deny(t, 403,
		            t->rm.role == YQ_ROLE_NONE
		                    ? "Only members of this room may do that"
		                    : "Your role in this room does not allow that");
	return 0;
}

static json_object *
room_content(const struct yq_room *rm, struct yq_user *by)
{
	json_object *c = json_object_new_object();

	yq_json_add_int(c, "room_id", rm->id);
	yq_json_add_str(c, "room_name", rm->name);
	if (by)
		json_object_object_add(c, "by", yq_user_ref(by->id, by->username));
	return c;
}

/* Notify user (in the transaction); content is consumed. */
static int
tell(struct tx *t, long long user_id, const char *type, json_object *content)
{
	int rc = yq_notify_in_tx(t->r->db, user_id, type, content, NULL);

	json_object_put(content);
	return rc;
}

/* Queue a room event {event, room_id, ...}; payload is consumed. */
static int
announce(struct tx *t, const char *event, json_object *payload)
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

static json_object *
member_payload(long long uid, const char *username, enum yq_role role)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "user", yq_user_ref(uid, username));
	if (role != YQ_ROLE_NONE)
		yq_json_add_str(p, "role", yq_role_name(role));
	return p;
}

/* Add user to t->rm (locked): capacity, row, count, event.  Returns 0,
 * TX_DENY (full) or a db error. */
static int
add_member(struct tx *t, long long uid, const char *username)
{
	static const char ins[] =
	        "INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, 'member')";
	static const char count[] = "UPDATE rooms SET member_count = member_count + 1 WHERE id = ?";

	if (t->rm.member_count >= t->rm.max_members)
		return deny(t, 409, "Room is full");
	long long n = YQ_DB_EXEC(t->r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(uid));
	if (n < 0)
		return (int)n;
	if ((n = YQ_DB_EXEC(t->r->db, count, NULL, YQ_PINT(t->rm.id))) < 0)
		return (int)n;
	t->rm.member_count++;
	return announce(t, "member_joined", member_payload(uid, username, YQ_ROLE_MEMBER));
}

static int
remove_member(struct tx *t, long long uid)
{
	static const char del[] = "DELETE FROM room_members WHERE room_id = ? AND user_id = ?";
	static const char count[] = "UPDATE rooms SET member_count = member_count - 1 WHERE id = ?";
	long long n = YQ_DB_EXEC(t->r->db, del, NULL, YQ_PINT(t->rm.id), YQ_PINT(uid));

	if (n <= 0)
		return n < 0 ? (int)n : deny(t, 404, "Not a member of this room");
	n = YQ_DB_EXEC(t->r->db, count, NULL, YQ_PINT(t->rm.id));
	return n < 0 ? (int)n : 0;
}

static json_object *
membership_json(const struct yq_room *rm, long long uid, enum yq_role role)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "room_id", rm->id);
	yq_json_add_int(o, "user_id", uid);
	yq_json_add_str(o, "role", yq_role_name(role));
	return o;
}

/* Find a user's role in t->rm (inside the transaction). */
static int
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

/* ---- field rules ---- */

/* The body's room_id (for /rooms/join, leave, invite, apply). */
static bool
body_room_id(struct yq_req *r, json_object *body, long long *id)
{
	return yq_body_int(r, body, "room_id", true, 1, INT64_MAX, id);
}

static const char *
field_name(struct yq_req *r, json_object *body, bool required)
{
	size_t len;
	const char *s = yq_body_str(r, body, "name", required, 1, 64, &len);

	if (s) {
		bool blank = true;
		for (size_t i = 0; i < len && blank; i++)
			blank = s[i] == ' ' || s[i] == '\t';
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20) {
				yq_http_invalid(r, "body", "name", "value_error",
				                "Name must not contain control characters");
				return NULL;
			}
		if (blank) {
			yq_http_invalid(r, "body", "name", "string_too_short",
			                "Name must not be blank");
			return NULL;
		}
	}
	return s;
}

/* The settings of SPEC section 3, from a config object; each present
 * field overwrites rm's. */
static void
read_config(struct yq_req *r, json_object *cfg, struct yq_room *rm)
{
	long long max;

	if (!cfg)
		return;
	yq_body_bool(r, cfg, "is_public", false, &rm->is_public);
	yq_body_bool(r, cfg, "require_approval", false, &rm->require_approval);
	yq_body_bool(r, cfg, "keep_chat_history", false, &rm->keep_chat_history);
	yq_body_bool(r, cfg, "sync_playback", false, &rm->sync_playback);
	yq_body_bool(r, cfg, "guest_control", false, &rm->guest_control);
	if (yq_body_int(r, cfg, "max_members", false, 2, 1000, &max))
		rm->max_members = max;
}

/* ---- handlers ---- */

struct create_args {
	const char *name, *desc;
	struct yq_room cfg;
};

static int
create_fn(struct tx *t)
{
	static const char ins[] =
	        "INSERT INTO rooms (owner_id, name, description, is_public, require_approval, "
	        "keep_chat_history, sync_playback, guest_control, max_members, member_count) "
	        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)";
	static const char owner[] =
	        "INSERT INTO room_members (room_id, user_id, role) VALUES (?, ?, 'owner')";
	static const char playback[] = "INSERT INTO room_playback (room_id) VALUES (?)";
	const struct create_args *a = (const struct create_args *)(const void *)t->text;
	struct yq_req *r = t->r;

	long long n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(r->user->id), YQ_PSTR(a->name),
	                         YQ_PSTR(a->desc ? a->desc : ""), YQ_PINT(a->cfg.is_public),
	                         YQ_PINT(a->cfg.require_approval),
	                         YQ_PINT(a->cfg.keep_chat_history), YQ_PINT(a->cfg.sync_playback),
	                         YQ_PINT(a->cfg.guest_control), YQ_PINT(a->cfg.max_members));
	if (n < 0)
		return (int)n;
	t->room_id = (long long)yq_db_insert_id(r->db);
	if ((n = YQ_DB_EXEC(r->db, owner, NULL, YQ_PINT(t->room_id), YQ_PINT(r->user->id))) < 0)
		return (int)n;
	n = YQ_DB_EXEC(r->db, playback, NULL, YQ_PINT(t->room_id));
	return n < 0 ? (int)n : 0;
}

/* POST /rooms/ */
int
h_rooms_create(struct yq_req *r)
{
	json_object *body, *cfg = NULL;
	struct create_args a = { .cfg = { .is_public = true,
		                          .keep_chat_history = true,
		                          .sync_playback = true,
		                          .max_members = 50 } };
	struct tx t = { .r = r, .fn = create_fn, .text = (const char *)(void *)&a };
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	a.name = field_name(r, body, true);
	a.desc = yq_body_str(r, body, "description", false, 0, 500, NULL);
	if (yq_json_field(body, "config", json_type_object, &cfg) == YQ_JF_TYPE)
		yq_http_invalid(r, "body", "config", "model_attributes_type",
		                "Input should be a valid dictionary");
	read_config(r, cfg, &a.cfg);
	if (yq_http_invalid_done(r) < 0 || tx_run(&t) < 0)
		goto out;
	struct yq_room rm;
	int lr = room_load(r, t.room_id, false, &rm);
	rc = lr < 0 ? yq_http_fail(r, lr) : room_view(r, &rm, 201);
out:
	json_object_put(body);
	return rc;
}

static bool
query_bool(struct yq_req *r, const char *key, bool *out)
{
	const struct yq_kv *kv = yq_form_get(&r->query, key);

	*out = false;
	if (!kv)
		return true;
	if (strcmp(kv->value, "true") == 0 || strcmp(kv->value, "1") == 0)
		*out = true;
	else if (strcmp(kv->value, "false") != 0 && strcmp(kv->value, "0") != 0) {
		yq_http_invalid(r, "query", key, "bool_parsing", "Input should be a valid boolean");
		return false;
	}
	return true;
}

/* A LIKE pattern matching s anywhere, with s's wildcards literal. */
static void
like_pattern(char *out, size_t outsz, const char *s)
{
	size_t o = 0;

	out[o++] = '%';
	for (; *s && o + 3 < outsz; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '%';
	out[o] = '\0';
}

static json_object *
room_item(const struct yq_rows *rows, unsigned i)
{
	struct yq_room rm;

	room_from_row(rows, i, &rm);
	return room_summary(&rm);
}

/* GET /rooms/?q=&mine=true: public rooms and mine, newest first. */
int
h_rooms_list(struct yq_req *r)
{
	static const char sql[] = ROOM_SELECT
	        "WHERE r.dissolved_at IS NULL AND (r.is_public OR m.user_id IS NOT NULL) "
	        "AND (? = 0 OR m.user_id IS NOT NULL) AND r.name LIKE ? AND r.id < ? "
	        "ORDER BY r.id DESC LIMIT ?";
	const struct yq_kv *q = yq_form_get(&r->query, "q");
	long long limit, before;
	bool mine;
	char pattern[300];

	yq_query_page(r, true, &limit, &before);
	query_bool(r, "mine", &mine);
	if (q && yq_utf8_chars(q->value, q->value_len) > 64)
		yq_http_invalid(r, "query", "q", "string_too_long",
		                "String should have at most 64 characters");
	if (yq_http_invalid_done(r) < 0)
		return -1;
	like_pattern(pattern, sizeof(pattern), q ? q->value : "");

	return YQ_HTTP_PAGE(r, sql, limit, room_item, ROOM_SELECT_PARAMS(r), YQ_PINT(mine),
	                    YQ_PSTR(pattern), YQ_PINT(before), YQ_PINT(limit + 1));
}

/* GET /rooms/{id} */
int
h_rooms_get(struct yq_req *r)
{
	struct yq_room rm;

	if (room_for(r, r->ids[0], false, YQ_ACT_COUNT, &rm) < 0)
		return -1;
	return room_view(r, &rm, 200);
}

static int
dissolve_fn(struct tx *t)
{
	static const char mark[] =
	        "UPDATE rooms SET dissolved_at = NOW(), updated_at = NOW() WHERE id = ?";
	static const char members[] =
	        "SELECT user_id FROM room_members WHERE room_id = ? AND user_id <> ?";
	static const char cancel_inv[] =
	        "UPDATE room_invitations SET status = 'cancelled', responded_at = NOW() "
	        "WHERE room_id = ? AND status = 'pending'";
	static const char cancel_app[] =
	        "UPDATE room_applications SET status = 'withdrawn', decided_at = NOW() "
	        "WHERE room_id = ? AND status = 'pending'";
	struct yq_db *db = t->r->db;
	int rc = tx_room(t, t->room_id, YQ_ACT_DISSOLVE);

	if (rc < 0)
		return rc;
	long long n = YQ_DB_EXEC(db, mark, NULL, YQ_PINT(t->rm.id));
	if (n >= 0)
		n = YQ_DB_EXEC(db, cancel_inv, NULL, YQ_PINT(t->rm.id));
	if (n >= 0)
		n = YQ_DB_EXEC(db, cancel_app, NULL, YQ_PINT(t->rm.id));
	struct yq_rows *rows;
	if (n < 0 ||
	    (n = YQ_DB_EXEC(db, members, &rows, YQ_PINT(t->rm.id), YQ_PINT(t->r->user->id))) < 0)
		return (int)n;
	for (unsigned i = 0; i < rows->nrows && rc == 0; i++)
		rc = tell(t, yq_rows_int(rows, i, 0), "room_dissolved",
		          room_content(&t->rm, t->r->user));
	yq_rows_free(rows);
	if (rc < 0)
		return rc;
	json_object *p = json_object_new_object();
	json_object_object_add(p, "by", yq_user_ref(t->r->user->id, t->r->user->username));
	return announce(t, "dissolved", p);
}

/* DELETE /rooms/{id} */
int
h_rooms_dissolve(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = dissolve_fn, .room_id = r->ids[0] };

	return tx_run(&t) < 0 ? -1 : yq_http_empty(r, 204);
}

static int
join_fn(struct tx *t)
{
	static const char accept[] = "UPDATE room_invitations SET status = 'accepted', "
	                             "responded_at = NOW() WHERE id = ?";
	static const char inviter[] = "SELECT inviter_id FROM room_invitations WHERE id = ?";
	struct yq_req *r = t->r;
	int rc = tx_room(t, t->room_id, YQ_ACT_COUNT);

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
		json_object *c = room_content(&t->rm, NULL);
		yq_json_add_int(c, "invitation_id", t->rm.invitation_id);
		json_object_object_add(c, "invitee", yq_user_ref(r->user->id, r->user->username));
		if (who && (rc = tell(t, who, "invitation_accepted", c)) < 0)
			return rc;
		if (!who)
			json_object_put(c);
	} else if (!t->rm.is_public) {
		return deny(t, 404, "Room not found");
	} else if (t->rm.require_approval) {
		return deny(t, 403, "This room requires approval: apply to join");
	} else if ((rc = add_member(t, r->user->id, r->user->username)) < 0) {
		return rc;
	}
	t->out = membership_json(&t->rm, r->user->id, YQ_ROLE_MEMBER);
	return 0;
}

/* A handler whose body is {room_id, ...} and whose work is one tx; fields
 * (may be NULL) reads the handler's other fields into t before the 422
 * check. */
static int
room_body_tx(struct yq_req *r, int (*fn)(struct tx *t), void (*fields)(struct tx *t), int status)
{
	json_object *body;
	struct tx t = { .r = r, .fn = fn };
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	t.body = body;
	body_room_id(r, body, &t.room_id);
	if (fields)
		fields(&t);
	if (yq_http_invalid_done(r) < 0 || tx_run(&t) < 0)
		goto out;
	rc = t.out ? yq_http_json(r, status, t.out) : yq_http_empty(r, status);
out:
	json_object_put(body);
	return rc;
}

/* POST /rooms/join */
int
h_rooms_join(struct yq_req *r)
{
	return room_body_tx(r, join_fn, NULL, 200);
}

static int
leave_fn(struct tx *t)
{
	int rc = tx_room(t, t->room_id, YQ_ACT_COUNT);

	if (rc < 0)
		return rc;
	if (t->rm.role == YQ_ROLE_NONE)
		return deny(t, 404, "You are not a member of this room");
	if (t->rm.role == YQ_ROLE_OWNER)
		return deny(t, 409, "The owner cannot leave: transfer the room or dissolve it");
	if ((rc = remove_member(t, t->r->user->id)) < 0)
		return rc;
	return announce(t, "member_left",
	                member_payload(t->r->user->id, t->r->user->username, YQ_ROLE_NONE));
}

/* POST /rooms/leave */
int
h_rooms_leave(struct yq_req *r)
{
	return room_body_tx(r, leave_fn, NULL, 204);
}

static void
invite_fields(struct tx *t)
{
	yq_body_int(t->r, t->body, "user_id", true, 1, INT64_MAX, &t->user_id);
}

static int
invite_fn(struct tx *t)
{
	static const char target[] = "SELECT username FROM users WHERE id = ?";
	static const char ins[] =
	        "INSERT INTO room_invitations (room_id, inviter_id, invitee_id) VALUES (?, ?, ?)";
	static const char get[] = INVITATION_SELECT "WHERE i.id = ?";
	struct yq_req *r = t->r;
	int rc = tx_room(t, t->room_id, YQ_ACT_INVITE);
	struct yq_rows *rows;
	char name[33];
	enum yq_role role;

	if (rc < 0)
		return rc;
	long long n = YQ_DB_EXEC(r->db, target, &rows, YQ_PINT(t->user_id));
	if (n <= 0) {
		yq_rows_free(rows);
		return n < 0 ? (int)n : deny(t, 404, "User not found");
	}
	yq_strlcpy(name, yq_rows_str(rows, 0, 0), sizeof(name));
	yq_rows_free(rows);
	if ((rc = member_role(t, t->user_id, &role, NULL, 0)) < 0)
		return rc;
	if (role != YQ_ROLE_NONE)
		return deny(t, 409, "That user is already a member of this room");
	n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id),
	               YQ_PINT(t->user_id));
	if (n == YQ_EDUP)
		return deny(t, 409, "That user already has a pending invitation to this room");
	if (n < 0)
		return (int)n;
	long long inv = (long long)yq_db_insert_id(r->db);
	json_object *c = room_content(&t->rm, NULL);
	yq_json_add_int(c, "invitation_id", inv);
	json_object_object_add(c, "inviter", yq_user_ref(r->user->id, r->user->username));
	if ((rc = tell(t, t->user_id, "room_invite", c)) < 0)
		return rc;
	if ((n = YQ_DB_EXEC(r->db, get, &rows, YQ_PINT(inv))) < 0)
		return (int)n;
	t->out = invitation_json(rows, 0);
	yq_rows_free(rows);
	return 0;
}

/* POST /rooms/invite */
int
h_rooms_invite(struct yq_req *r)
{
	return room_body_tx(r, invite_fn, invite_fields, 201);
}

static void
apply_fields(struct tx *t)
{
	t->text = yq_body_str(t->r, t->body, "message", false, 0, 500, NULL);
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
	int rc = tx_room(t, t->room_id, YQ_ACT_COUNT);
	struct yq_rows *rows;

	if (rc < 0)
		return rc;
	if (t->rm.role != YQ_ROLE_NONE)
		return deny(t, 409, "You are already a member of this room");
	if (t->rm.applied)
		return deny(t, 409, "You already have a pending application to this room");
	if (t->rm.invitation_id || !t->rm.require_approval)
		return deny(t, 409,
		            t->rm.invitation_id
		                    ? "You are invited: join the room directly"
		                    : "This room does not require approval: join it directly");
	long long n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id),
	                         YQ_PSTR(t->text ? t->text : ""));
	if (n == YQ_EDUP)
		return deny(t, 409, "You already have a pending application to this room");
	if (n < 0)
		return (int)n;
	long long app = (long long)yq_db_insert_id(r->db);
	if ((n = YQ_DB_EXEC(r->db, approvers, &rows, YQ_PINT(t->rm.id))) < 0)
		return (int)n;
	for (unsigned i = 0; i < rows->nrows && rc == 0; i++) {
		json_object *c = room_content(&t->rm, NULL);
		yq_json_add_int(c, "application_id", app);
		json_object_object_add(c, "applicant", yq_user_ref(r->user->id, r->user->username));
		yq_json_add_str(c, "message", t->text ? t->text : "");
		rc = tell(t, yq_rows_int(rows, i, 0), "room_application", c);
	}
	yq_rows_free(rows);
	if (rc < 0 || (n = YQ_DB_EXEC(r->db, get, &rows, YQ_PINT(app))) < 0)
		return rc < 0 ? rc : (int)n;
	t->out = application_json(rows, 0);
	yq_rows_free(rows);
	return 0;
}

/* POST /rooms/apply */
int
h_rooms_apply(struct yq_req *r)
{
	return room_body_tx(r, apply_fn, apply_fields, 201);
}

static int
config_fn(struct tx *t)
{
	static const char upd[] =
	        "UPDATE rooms SET name = ?, description = ?, is_public = ?, require_approval = ?, "
	        "keep_chat_history = ?, sync_playback = ?, guest_control = ?, max_members = ?, "
	        "updated_at = NOW() WHERE id = ?";
	struct yq_req *r = t->r;
	int rc = tx_room(t, t->room_id, YQ_ACT_CONFIG);

	if (rc < 0)
		return rc;
	json_object *cfg = NULL;
	yq_json_field(t->body, "config", json_type_object, &cfg);
	const char *name = field_name(r, t->body, false);
	const char *desc = yq_body_str(r, t->body, "description", false, 0, 500, NULL);
	if (!name && cfg)
		name = field_name(r, cfg, false);
	if (!desc && cfg)
		desc = yq_body_str(r, cfg, "description", false, 0, 500, NULL);
	/* settings may come at the top level or inside "config" */
	read_config(r, t->body, &t->rm);
	read_config(r, cfg, &t->rm);
	if (r->errors)
		return deny(t, 422, "invalid"); /* replaced by the 422 below */
	if (t->rm.max_members < t->rm.member_count)
		return deny(t, 409, "max_members is below the current number of members");
	if (name)
		yq_strlcpy(t->rm.name, name, sizeof(t->rm.name));
	if (desc)
		yq_strlcpy(t->rm.description, desc, sizeof(t->rm.description));
	long long n = YQ_DB_EXEC(r->db, upd, NULL, YQ_PSTR(t->rm.name), YQ_PSTR(t->rm.description),
	                         YQ_PINT(t->rm.is_public), YQ_PINT(t->rm.require_approval),
	                         YQ_PINT(t->rm.keep_chat_history), YQ_PINT(t->rm.sync_playback),
	                         YQ_PINT(t->rm.guest_control), YQ_PINT(t->rm.max_members),
	                         YQ_PINT(t->rm.id));
	if (n < 0)
		return (int)n;
	json_object *p = json_object_new_object();
	yq_json_add_str(p, "name", t->rm.name);
	yq_json_add_str(p, "description", t->rm.description);
	json_object_object_add(p, "config", yq_room_config_json(&t->rm));
	json_object_object_add(p, "by", yq_user_ref(r->user->id, r->user->username));
	return announce(t, "config_updated", p);
}

/* PUT /rooms/{id}/config: fields at the top level or in "config". */
int
h_rooms_config(struct yq_req *r)
{
	json_object *body;
	struct tx t = { .r = r, .fn = config_fn, .room_id = r->ids[0] };
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	t.body = body;
	json_object *cfg;
	if (yq_json_field(body, "config", json_type_object, &cfg) == YQ_JF_TYPE)
		yq_http_invalid(r, "body", "config", "model_attributes_type",
		                "Input should be a valid dictionary");
	/* validate before touching the database: a dry run on a scratch room */
	struct yq_room scratch = { 0 };
	field_name(r, body, false);
	yq_body_str(r, body, "description", false, 0, 500, NULL);
	if (cfg) {
		field_name(r, cfg, false);
		yq_body_str(r, cfg, "description", false, 0, 500, NULL);
	}
	read_config(r, body, &scratch);
	read_config(r, cfg, &scratch);
	if (yq_http_invalid_done(r) < 0 || tx_run(&t) < 0)
		goto out;
	struct yq_room rm;
	int lr = room_load(r, t.room_id, false, &rm);
	rc = lr < 0 ? yq_http_fail(r, lr) : room_view(r, &rm, 200);
out:
	json_object_put(body);
	return rc;
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

	if (room_for(r, r->ids[0], false, YQ_ACT_CHAT, &rm) < 0)
		return -1;
	yq_query_page(r, false, &limit, &after);
	if (yq_http_invalid_done(r) < 0)
		return -1;
	return YQ_HTTP_PAGE(r, sql, limit, member_json, YQ_PINT(r->cfg->presence_ttl),
	                    YQ_PINT(rm.id), YQ_PINT(after), YQ_PINT(limit + 1));
}

static void
role_fields(struct tx *t)
{
	const char *role = yq_body_str(t->r, t->body, "role", true, 1, 16, NULL);

	t->role = yq_role_parse(role);
	if (role && t->role != YQ_ROLE_MEMBER && t->role != YQ_ROLE_MODERATOR)
		yq_http_invalid(
		        t->r, "body", "role", "enum",
		        "Input should be 'member' or 'moderator' (use transfer for the owner)");
}

static int
set_role_fn(struct tx *t)
{
	static const char upd[] =
	        "UPDATE room_members SET role = ? WHERE room_id = ? AND user_id = ?";
	struct yq_req *r = t->r;
	int rc = tx_room(t, t->room_id, YQ_ACT_SET_ROLE);
	enum yq_role cur;
	char name[33] = "";

	if (rc < 0 || (rc = member_role(t, t->user_id, &cur, name, sizeof(name))) < 0)
		return rc;
	if (cur == YQ_ROLE_NONE)
		return deny(t, 404, "Not a member of this room");
	if (cur == YQ_ROLE_OWNER)
		return deny(t, 409, "The owner's role changes only by transfer");
	if (cur != t->role) {
		long long n = YQ_DB_EXEC(r->db, upd, NULL, YQ_PSTR(yq_role_name(t->role)),
		                         YQ_PINT(t->rm.id), YQ_PINT(t->user_id));
		if (n < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, r->user);
		yq_json_add_str(c, "role", yq_role_name(t->role));
		if ((rc = tell(t, t->user_id, "role_changed", c)) < 0 ||
		    (rc = announce(t, "role_changed", member_payload(t->user_id, name, t->role))) <
		            0)
			return rc;
	}
	t->out = membership_json(&t->rm, t->user_id, t->role);
	return 0;
}

/* PUT /rooms/{id}/members/{user_id} */
int
h_rooms_set_role(struct yq_req *r)
{
	json_object *body;
	struct tx t = { .r = r, .fn = set_role_fn, .room_id = r->ids[0], .user_id = r->ids[1] };
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	t.body = body;
	role_fields(&t);
	if (yq_http_invalid_done(r) < 0 || tx_run(&t) < 0)
		goto out;
	rc = yq_http_json(r, 200, t.out);
out:
	json_object_put(body);
	return rc;
}

static int
kick_fn(struct tx *t)
{
	struct yq_req *r = t->r;
	int rc = tx_room(t, t->room_id, YQ_ACT_KICK);
	enum yq_role target;
	char name[33] = "";

	if (rc < 0 || (rc = member_role(t, t->user_id, &target, name, sizeof(name))) < 0)
		return rc;
	if (target == YQ_ROLE_NONE)
		return deny(t, 404, "Not a member of this room");
	if (!yq_perm_can_kick(t->rm.role, target))
		return deny(t, 403, "You can only kick members with a lower role");
	if ((rc = remove_member(t, t->user_id)) < 0 ||
	    (rc = tell(t, t->user_id, "member_kicked", room_content(&t->rm, r->user))) < 0)
		return rc;
	json_object *p = member_payload(t->user_id, name, YQ_ROLE_NONE);
	json_object_object_add(p, "by", yq_user_ref(r->user->id, r->user->username));
	return announce(t, "member_kicked", p);
}

/* DELETE /rooms/{id}/members/{user_id} */
int
h_rooms_kick(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = kick_fn, .room_id = r->ids[0], .user_id = r->ids[1] };

	return tx_run(&t) < 0 ? -1 : yq_http_empty(r, 204);
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
	int rc = tx_room(t, t->room_id, YQ_ACT_TRANSFER);
	enum yq_role target;
	char name[33] = "";

	if (rc < 0 || (rc = member_role(t, t->user_id, &target, name, sizeof(name))) < 0)
		return rc;
	if (t->user_id == r->user->id)
		return deny(t, 409, "You already own this room");
	if (target == YQ_ROLE_NONE)
		return deny(t, 404, "Not a member of this room");
	long long n = YQ_DB_EXEC(r->db, demote, NULL, YQ_PINT(t->rm.id), YQ_PINT(r->user->id));
	if (n >= 0)
		n = YQ_DB_EXEC(r->db, promote, NULL, YQ_PINT(t->rm.id), YQ_PINT(t->user_id));
	if (n >= 0)
		n = YQ_DB_EXEC(r->db, owner, NULL, YQ_PINT(t->user_id), YQ_PINT(t->rm.id));
	if (n < 0)
		return (int)n;
	json_object *c = room_content(&t->rm, r->user);
	yq_json_add_str(c, "role", "owner");
	if ((rc = tell(t, t->user_id, "role_changed", c)) < 0)
		return rc;
	json_object *p = json_object_new_object();
	json_object_object_add(p, "old_owner", yq_user_ref(r->user->id, r->user->username));
	json_object_object_add(p, "new_owner", yq_user_ref(t->user_id, name));
	return announce(t, "owner_changed", p);
}

/* POST /rooms/{id}/transfer {user_id} */
int
h_rooms_transfer(struct yq_req *r)
{
	json_object *body;
	struct tx t = { .r = r, .fn = transfer_fn, .room_id = r->ids[0] };
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	t.body = body;
	invite_fields(&t); /* {user_id} */
	if (yq_http_invalid_done(r) < 0 || tx_run(&t) < 0)
		goto out;
	struct yq_room rm;
	int lr = room_load(r, t.room_id, false, &rm);
	rc = lr < 0 ? yq_http_fail(r, lr) : room_view(r, &rm, 200);
out:
	json_object_put(body);
	return rc;
}

/* GET /rooms/{id}/applications: pending ones, for approvers. */
int
h_rooms_applications(struct yq_req *r)
{
	static const char sql[] = APPLICATION_SELECT "WHERE a.room_id = ? AND a.status = 'pending' "
	                                             "AND a.id < ? ORDER BY a.id DESC LIMIT ?";
	struct yq_room rm;
	long long limit, before;

	if (room_for(r, r->ids[0], false, YQ_ACT_REVIEW, &rm) < 0)
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
	bool approve = t->role == YQ_ROLE_MEMBER; /* set by the handler */
	const char *want = approve ? "approved" : "rejected";
	int rc = tx_room(t, t->room_id, YQ_ACT_REVIEW);
	struct yq_rows *rows;

	if (rc < 0)
		return rc;
	long long n = YQ_DB_EXEC(r->db, find, &rows, YQ_PINT(t->app_id), YQ_PINT(t->rm.id));
	if (n <= 0) {
		yq_rows_free(rows);
		return n < 0 ? (int)n : deny(t, 404, "Application not found");
	}
	char status[16], name[33];
	yq_strlcpy(status, yq_rows_str(rows, 0, 0), sizeof(status));
	long long uid = yq_rows_int(rows, 0, 1);
	yq_strlcpy(name, yq_rows_str(rows, 0, 2), sizeof(name));
	yq_rows_free(rows);
	if (strcmp(status, "pending") != 0 && strcmp(status, want) != 0)
		return deny(t, 409, "The application was already decided otherwise");
	if (strcmp(status, "pending") == 0) {
		if (approve) {
			enum yq_role role;
			if ((rc = member_role(t, uid, &role, NULL, 0)) < 0)
				return rc;
			if (role == YQ_ROLE_NONE && (rc = add_member(t, uid, name)) < 0)
				return rc;
		}
		if ((n = YQ_DB_EXEC(r->db, mark, NULL, YQ_PSTR(want), YQ_PINT(r->user->id),
		                    YQ_PINT(t->app_id))) < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, r->user);
		yq_json_add_int(c, "application_id", t->app_id);
		if ((rc = tell(t, uid, approve ? "application_approved" : "application_rejected",
		               c)) < 0)
			return rc;
	}
	if ((n = YQ_DB_EXEC(r->db, get, &rows, YQ_PINT(t->app_id))) < 0)
		return (int)n;
	t->out = application_json(rows, 0);
	yq_rows_free(rows);
	return 0;
}

static int
decide(struct yq_req *r, bool approve)
{
	struct tx t = { .r = r,
		        .fn = decide_fn,
		        .room_id = r->ids[0],
		        .app_id = r->ids[1],
		        .role = approve ? YQ_ROLE_MEMBER : YQ_ROLE_NONE };

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
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, find, &rows, YQ_PINT(t->inv_id), YQ_PINT(r->user->id));

	if (n <= 0) {
		yq_rows_free(rows);
		return n < 0 ? (int)n : deny(t, 404, "Invitation not found");
	}
	char status[16];
	yq_strlcpy(status, yq_rows_str(rows, 0, 0), sizeof(status));
	long long room_id = yq_rows_int(rows, 0, 1), inviter = yq_rows_int(rows, 0, 2);
	yq_rows_free(rows);
	if (strcmp(status, "cancelled") == 0)
		return deny(t, 404, "Invitation not found");
	if (strcmp(status, "accepted") == 0)
		return deny(t, 409, "The invitation was already accepted");
	if (strcmp(status, "pending") == 0) {
		int rc = room_load(r, room_id, true, &t->rm);
		if (rc < 0)
			return rc;
		if ((n = YQ_DB_EXEC(r->db, mark, NULL, YQ_PINT(t->inv_id))) < 0)
			return (int)n;
		json_object *c = room_content(&t->rm, NULL);
		yq_json_add_int(c, "invitation_id", t->inv_id);
		json_object_object_add(c, "invitee", yq_user_ref(r->user->id, r->user->username));
		if ((rc = tell(t, inviter, "invitation_declined", c)) < 0)
			return rc;
	}
	if ((n = YQ_DB_EXEC(r->db, get, &rows, YQ_PINT(t->inv_id))) < 0)
		return (int)n;
	t->out = invitation_json(rows, 0);
	yq_rows_free(rows);
	return 0;
}

/* POST /rooms/invitations/{inv_id}/decline */
int
h_rooms_decline(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = decline_fn, .inv_id = r->ids[0] };

	return tx_run(&t) < 0 ? -1 : yq_http_json(r, 200, t.out);
}

/* YQ_CHAT_COLUMNS, then created_at */
static json_object *
message_json(const struct yq_rows *rows, unsigned i)
{
	json_object *m = yq_chat_json_row(rows, i, 0);

	yq_json_add_str(m, "created_at", yq_rows_str(rows, i, 6));
	return m;
}

/* GET /rooms/{id}/messages?before_id=: members only, newest first. */
int
h_rooms_messages(struct yq_req *r)
{
	static const char sql[] = "SELECT " YQ_CHAT_COLUMNS ", "
	                          "DATE_FORMAT(c.created_at, '%Y-%m-%dT%H:%i:%sZ') "
	                          "FROM chat_messages c STRAIGHT_JOIN users u ON u.id = c.user_id "
	                          "WHERE c.room_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?";
	struct yq_room rm;
	long long limit, before;
	const struct yq_kv *b = yq_form_get(&r->query, "before_id");

	if (room_for(r, r->ids[0], false, YQ_ACT_CHAT, &rm) < 0)
		return -1;
	yq_query_page(r, true, &limit, &before);
	if (b) {
		int64_t v;
		if (yq_parse_i64(b->value, 1, INT64_MAX, &v) < 0)
			yq_http_invalid(r, "query", "before_id", "int_parsing",
			                "Input should be a positive integer");
		else if (v < before)
			before = v;
	}
	if (yq_http_invalid_done(r) < 0)
		return -1;
	if (!rm.keep_chat_history) { /* nothing is stored: an empty page */
		struct yq_rows none = { 0 };
		return yq_http_json(r, 200, yq_page_json(&none, limit, message_json));
	}
	return YQ_HTTP_PAGE(r, sql, limit, message_json, YQ_PINT(rm.id), YQ_PINT(before),
	                    YQ_PINT(limit + 1));
}
