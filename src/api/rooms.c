/*
 * rooms.c - room CRUD (SPEC section 3): create, list, get, change the
 * settings, dissolve.  The other room resources have a file each and
 * share rooms-tx.c; rooms.h has the map and the rule.
 */
#include "config.h"

#include "api/rooms.h"

#include <string.h>

/* ---- field rules ---- */

/* A room name: 1 to 64 characters, not blank, no control characters. */
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

/* The settings of SPEC section 3 in obj (NULL: none); each present field
 * overwrites what set holds. */
static void
read_settings(struct yq_req *r, json_object *obj, struct room_settings *set)
{
	long long max;

	if (!obj)
		return;
	set->has_is_public |= yq_body_bool(r, obj, "is_public", false, &set->is_public);
	set->has_require_approval |=
	        yq_body_bool(r, obj, "require_approval", false, &set->require_approval);
	set->has_keep_chat_history |=
	        yq_body_bool(r, obj, "keep_chat_history", false, &set->keep_chat_history);
	set->has_sync_playback |= yq_body_bool(r, obj, "sync_playback", false, &set->sync_playback);
	set->has_guest_control |= yq_body_bool(r, obj, "guest_control", false, &set->guest_control);
	if (yq_body_int(r, obj, "max_members", false, 2, 1000, &max)) {
		set->has_max_members = true;
		set->max_members = (int)max;
	}
}

/* Read a create or a config body into f, the only validation of these
 * fields (422s recorded for the caller's yq_http_invalid_done).  Create
 * takes name (required) and description at the top level and settings in
 * "config"; config takes each at either place: name and description at
 * the top level first, settings in "config" last. */
static void
read_room_fields(struct yq_req *r, json_object *body, bool create, struct room_fields *f)
{
	json_object *cfg = NULL;

	memset(f, 0, sizeof(*f));
	if (yq_json_field(body, "config", json_type_object, &cfg) == YQ_JF_TYPE)
		yq_http_invalid(r, "body", "config", "model_attributes_type",
		                "Input should be a valid dictionary");
	f->name = field_name(r, body, create);
	f->desc = yq_body_str(r, body, "description", false, 0, 500, NULL);
	if (!create) {
		if (cfg) {
			const char *name = field_name(r, cfg, false);
			const char *desc = yq_body_str(r, cfg, "description", false, 0, 500, NULL);
			f->name = f->name ? f->name : name;
			f->desc = f->desc ? f->desc : desc;
		}
		read_settings(r, body, &f->set);
	}
	read_settings(r, cfg, &f->set);
}

/* Apply the settings present in set to rm. */
static void
apply_settings(const struct room_settings *set, struct yq_room *rm)
{
	if (set->has_is_public)
		rm->is_public = set->is_public;
	if (set->has_require_approval)
		rm->require_approval = set->require_approval;
	if (set->has_keep_chat_history)
		rm->keep_chat_history = set->keep_chat_history;
	if (set->has_sync_playback)
		rm->sync_playback = set->sync_playback;
	if (set->has_guest_control)
		rm->guest_control = set->guest_control;
	if (set->has_max_members)
		rm->max_members = set->max_members;
}

/* ---- create ---- */

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
	const struct room_fields *f = &t->u.create;
	struct yq_room cfg = { .is_public = true,
		               .keep_chat_history = true,
		               .sync_playback = true,
		               .max_members = 50 }; /* SPEC section 3's defaults */
	struct yq_req *r = t->r;

	apply_settings(&f->set, &cfg);
	long long n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PINT(r->user->id), YQ_PSTR(f->name),
	                         YQ_PSTR(f->desc ? f->desc : ""), YQ_PINT(cfg.is_public),
	                         YQ_PINT(cfg.require_approval), YQ_PINT(cfg.keep_chat_history),
	                         YQ_PINT(cfg.sync_playback), YQ_PINT(cfg.guest_control),
	                         YQ_PINT(cfg.max_members));
	if (n < 0)
		return (int)n;
	t->room_id = (long long)yq_db_insert_id(r->db);
	if ((n = YQ_DB_EXEC(r->db, owner, NULL, YQ_PINT(t->room_id), YQ_PINT(r->user->id))) < 0)
		return (int)n;
	n = YQ_DB_EXEC(r->db, playback, NULL, YQ_PINT(t->room_id));
	return n < 0 ? (int)n : 0;
}

static void
create_fields(struct yq_req *r, json_object *body, struct tx *t)
{
	read_room_fields(r, body, true, &t->u.create);
}

/* POST /rooms/ */
int
h_rooms_create(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = create_fn };

	return tx_body(r, &t, create_fields, 201, TX_ANSWER_ROOM);
}

/* ---- list, get ---- */

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

	if (room_for(r, r->ids[0], YQ_ACT_NONE, &rm) < 0)
		return -1;
	return room_view(r, &rm, 200);
}

/* ---- config ---- */

static int
config_fn(struct tx *t)
{
	static const char upd[] =
	        "UPDATE rooms SET name = ?, description = ?, is_public = ?, require_approval = ?, "
	        "keep_chat_history = ?, sync_playback = ?, guest_control = ?, max_members = ?, "
	        "updated_at = NOW() WHERE id = ?";
	const struct room_fields *f = &t->u.config;
	struct yq_req *r = t->r;
	int rc = tx_room(t, YQ_ACT_CONFIG);

	if (rc < 0)
		return rc;
	apply_settings(&f->set, &t->rm);
	if (t->rm.max_members < t->rm.member_count)
		return tx_deny(t, 409, "max_members is below the current number of members");
	if (f->name)
		yq_strlcpy(t->rm.name, f->name, sizeof(t->rm.name));
	if (f->desc)
		yq_strlcpy(t->rm.description, f->desc, sizeof(t->rm.description));
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
	return tx_announce(t, "config_updated", p);
}

static void
config_fields(struct yq_req *r, json_object *body, struct tx *t)
{
	read_room_fields(r, body, false, &t->u.config);
}

/* PUT /rooms/{id}/config: fields at the top level or in "config". */
int
h_rooms_config(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = config_fn, .room_id = r->ids[0] };

	return tx_body(r, &t, config_fields, 200, TX_ANSWER_ROOM);
}

/* ---- dissolve ---- */

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
	int rc = tx_room(t, YQ_ACT_DISSOLVE);

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
		rc = tx_tell(t, yq_rows_int(rows, i, 0), "room_dissolved",
		             room_content(&t->rm, t->r->user));
	yq_rows_free(rows);
	if (rc < 0)
		return rc;
	json_object *p = json_object_new_object();
	json_object_object_add(p, "by", yq_user_ref(t->r->user->id, t->r->user->username));
	return tx_announce(t, "dissolved", p);
}

/* DELETE /rooms/{id} */
int
h_rooms_dissolve(struct yq_req *r)
{
	struct tx t = { .r = r, .fn = dissolve_fn, .room_id = r->ids[0] };

	return tx_run(&t) < 0 ? -1 : yq_http_empty(r, 204);
}
