/*
 * users.c - SPEC section 2, the user endpoints: register, own profile,
 * public profile, update, search by username prefix.
 *
 * Uniqueness of username and email is the database's job (unique indexes
 * with a case-insensitive collation), so two simultaneous registrations of
 * one name cannot both win: the loser gets ER_DUP_ENTRY and a 409.
 */
#include "config.h"

#include "api/handlers.h"
#include "core/json.h"
#include "core/log.h"
#include "core/password.h"
#include "core/ratelimit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define USER_COLUMNS                                                      \
	"id, username, email, avatar_url, token_version, password_hash, " \
	"DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), "                 \
	"DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ')"

/* Copy one column; a value longer than its buffer is refused, never cut
 * (a cut could split a UTF-8 sequence). */
static bool
copy_col(char *dst, size_t sz, const char *src)
{
	if (yq_strlcpy(dst, src ? src : "", sz) < sz)
		return true;
	yq_error("users column longer than its %zu-byte buffer", sz - 1);
	return false;
}

static int
user_from_row(const struct yq_rows *rows, struct yq_user *u)
{
	u->id = yq_rows_int(rows, 0, 0);
	u->token_version = yq_rows_int(rows, 0, 4);
	bool ok = copy_col(u->username, sizeof(u->username), yq_rows_str(rows, 0, 1)) &&
	          copy_col(u->email, sizeof(u->email), yq_rows_str(rows, 0, 2)) &&
	          copy_col(u->avatar_url, sizeof(u->avatar_url), yq_rows_str(rows, 0, 3)) &&
	          copy_col(u->password_hash, sizeof(u->password_hash), yq_rows_str(rows, 0, 5)) &&
	          copy_col(u->created_at, sizeof(u->created_at), yq_rows_str(rows, 0, 6)) &&
	          copy_col(u->updated_at, sizeof(u->updated_at), yq_rows_str(rows, 0, 7));
	return ok ? 0 : YQ_EINTERNAL;
}

static int
load_one(struct yq_req *r, const char *sql, struct yq_param p, struct yq_user *u)
{
	struct yq_rows *rows;
	long long n = yq_db_exec(r->db, sql, &p, 1, &rows);

	if (n < 0)
		return (int)n;
	if (n == 0) {
		yq_rows_free(rows);
		return YQ_ENOTFOUND;
	}
	int rc = user_from_row(rows, u);
	yq_rows_free(rows);
	return rc;
}

int
yq_user_load(struct yq_req *r, long long id, struct yq_user *u)
{
	static const char sql[] = "SELECT " USER_COLUMNS " FROM users WHERE id = ?";

	return load_one(r, sql, YQ_PINT(id), u);
}

int
yq_user_find_login(struct yq_req *r, const char *name, struct yq_user *u)
{
	static const char by_name[] = "SELECT " USER_COLUMNS " FROM users WHERE username = ?";
	static const char by_email[] = "SELECT " USER_COLUMNS " FROM users WHERE email = ?";

	/* names and emails are ASCII; anything else cannot match (and would
	 * not compare with the ascii columns) */
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return YQ_ENOTFOUND;

	return load_one(r, strchr(name, '@') ? by_email : by_name, YQ_PSTR(name), u);
}

json_object *
yq_user_json(const struct yq_user *u, bool with_email)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "id", u->id);
	yq_json_add_str(o, "username", u->username);
	if (with_email)
		yq_json_add_str(o, "email", u->email);
	yq_json_add_str(o, "avatar_url", u->avatar_url);
	yq_json_add_str(o, "created_at", u->created_at);
	if (with_email)
		yq_json_add_str(o, "updated_at", u->updated_at);
	return o;
}

int
yq_http_too_many(struct yq_req *r, long wait)
{
	char ra[24];

	snprintf(ra, sizeof(ra), "%ld", wait);
	yq_http_header(r, "Retry-After", ra);
	return yq_http_error(r, 429, "Too many attempts, try again later");
}

/* ---- field rules (SPEC section 2) ---- */

static bool
username_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

static const char *
field_username(struct yq_req *r, json_object *body, bool required)
{
	const char *s = yq_body_str(r, body, "username", required, 3, 32, NULL);

	if (s && !username_chars_ok(s)) {
		yq_http_invalid(r, "body", "username", "string_pattern_mismatch",
		                "String should match pattern '^[A-Za-z0-9_.-]+$'");
		return NULL;
	}
	return s;
}

static bool
email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || at - s > 64)
		return false;
	for (const char *p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && !strchr("!#$%&'*+/=?^_`{|}~.-", c))
			return false;
		if (c == '.' && (p == s || p + 1 == at || p[1] == '.'))
			return false;
	}
	const char *d = at + 1;
	size_t dl = strlen(d);
	if (dl < 3 || !strchr(d, '.') || d[0] == '.' || d[0] == '-' || d[dl - 1] == '.' ||
	    d[dl - 1] == '-' || strstr(d, ".."))
		return false;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	const char *tld = strrchr(d, '.') + 1;
	return strlen(tld) >= 2;
}

static const char *
field_email(struct yq_req *r, json_object *body, bool required)
{
	const char *s = yq_body_str(r, body, "email", required, 3, 254, NULL);

	if (s && !email_ok(s)) {
		yq_http_invalid(r, "body", "email", "value_error",
		                "value is not a valid email address");
		return NULL;
	}
	return s;
}

static const char *
field_password(struct yq_req *r, json_object *body, const char *key, bool required, size_t *len)
{
	const char *s = yq_body_str(r, body, key, required, 1, 1024, len);

	if (s && (*len < 8 || *len > 128)) {
		yq_http_invalid(r, "body", key, "value_error",
		                "Password must be 8 to 128 bytes long");
		return NULL;
	}
	return s;
}

static const char *
field_avatar(struct yq_req *r, json_object *body)
{
	const char *s = yq_body_str(r, body, "avatar_url", false, 0, 512, NULL);

	if (!s || !*s)
		return s;
	size_t skip = strncasecmp(s, "https://", 8) == 0  ? 8
	              : strncasecmp(s, "http://", 7) == 0 ? 7
	                                                  : 0;
	bool ok = skip && s[skip] && s[skip] != '/';
	for (const char *p = s; ok && *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			ok = false;
	if (!ok) {
		yq_http_invalid(r, "body", "avatar_url", "url_parsing",
		                "Input should be an empty string or an http(s) URL");
		return NULL;
	}
	return s;
}

static int
duplicate(struct yq_req *r)
{
	if (strstr(yq_db_error(r->db), "uq_users_email"))
		return yq_http_error(r, 409, "Email already registered");
	return yq_http_error(r, 409, "Username already registered");
}

/* POST /users/ */
int
h_users_register(struct yq_req *r)
{
	static const char ins[] = "INSERT INTO users (username, email, password_hash, avatar_url) "
	                          "VALUES (?, ?, ?, ?)";
	json_object *body;
	size_t pwlen = 0;
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	const char *username = field_username(r, body, true);
	const char *email = field_email(r, body, true);
	const char *password = field_password(r, body, "password", true, &pwlen);
	const char *avatar = field_avatar(r, body);
	if (yq_http_invalid_done(r) < 0)
		goto out;

	char key[40];
	yq_ascii_lower(key, sizeof(key), username);
	long wait = yq_ratelimit_hit(r->db, "register_ip", r->remote_addr, &r->cfg->rl_register_ip,
	                             r->now);
	if (wait == 0)
		wait = yq_ratelimit_hit(r->db, "register_user", key, &r->cfg->rl_register_user,
		                        r->now);
	if (wait != 0) {
		rc = wait < 0 ? yq_http_fail(r, (int)wait) : yq_http_too_many(r, wait);
		goto out;
	}

	char hash[YQ_PWHASH_MAX];
	if (yq_password_hash(r->cfg, password, pwlen, hash) < 0) {
		rc = yq_http_fail(r, YQ_ENOMEM);
		goto out;
	}
	long long n = YQ_DB_EXEC(r->db, ins, NULL, YQ_PSTR(username), YQ_PSTR(email), YQ_PSTR(hash),
	                         YQ_PSTR(avatar ? avatar : ""));
	if (n == YQ_EDUP) {
		rc = duplicate(r);
		goto out;
	}
	if (n < 0) {
		rc = yq_http_fail(r, (int)n);
		goto out;
	}
	struct yq_user u;
	int lr = yq_user_load(r, (long long)yq_db_insert_id(r->db), &u);
	if (lr < 0) {
		rc = yq_http_fail(r, lr);
		goto out;
	}
	rc = yq_http_json(r, 201, yq_user_json(&u, true));
out:
	json_object_put(body);
	return rc;
}

/* GET /users/me */
int
h_users_me(struct yq_req *r)
{
	return yq_http_json(r, 200, yq_user_json(r->user, true));
}

static int
is_online(struct yq_req *r, long long uid, bool *online)
{
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM presence WHERE user_id = ? "
	                          "AND seen_at > NOW() - INTERVAL ? SECOND)";
	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, sql, &rows, YQ_PINT(uid), YQ_PINT(r->cfg->presence_ttl));

	if (n < 0)
		return (int)n;
	*online = yq_rows_int(rows, 0, 0) != 0;
	yq_rows_free(rows);
	return 0;
}

/* GET /users/{id} */
int
h_users_get(struct yq_req *r)
{
	struct yq_user u;
	bool online = false;
	int rc = yq_user_load(r, r->ids[0], &u);

	if (rc == YQ_ENOTFOUND)
		return yq_http_error(r, 404, "User not found");
	if (rc < 0 || (rc = is_online(r, u.id, &online)) < 0)
		return yq_http_fail(r, rc);
	json_object *o = yq_user_json(&u, false);
	yq_json_add_bool(o, "online", online);
	return yq_http_json(r, 200, o);
}

/* The current password of PUT /users/me, throttled with the account's
 * logins (the same bucket: a thief with a token guesses no faster here).
 * Writes the refusal (403, 429, 503) and returns -1. */
static int
current_password_ok(struct yq_req *r, const char *current, size_t curlen)
{
	struct yq_buf key = { 0 };
	int rc = 0;

	yq_login_key(&key, r->user, NULL);
	long wait =
	        yq_ratelimit_peek(r->db, "login_user", key.data, &r->cfg->rl_login_user, r->now);
	if (wait != 0) {
		rc = wait < 0 ? yq_http_fail(r, (int)wait) : yq_http_too_many(r, wait);
	} else if (yq_password_verify(r->user->password_hash, current, curlen) < 0) {
		yq_ratelimit_hit(r->db, "login_user", key.data, &r->cfg->rl_login_user, r->now);
		rc = yq_http_error(r, 403, "Incorrect current password");
	}
	yq_buf_free(&key);
	return rc;
}

struct update_me {
	long long user_id;
	const char *username, *email, *avatar, *hash; /* NULL: unchanged */
};

/* One transaction: the row; with a new password also every refresh token
 * and unspent ws ticket of the user, and an event that makes every ws node
 * close the user's open sockets (4401, doc/protocol.md). */
static int
update_me_tx(struct yq_db *db, void *arg)
{
	static const char upd[] =
	        "UPDATE users SET username = COALESCE(?, username), email = COALESCE(?, email), "
	        "avatar_url = COALESCE(?, avatar_url), password_hash = COALESCE(?, password_hash), "
	        "token_version = token_version + ?, updated_at = NOW() WHERE id = ?";
	static const char revoke[] = "UPDATE refresh_tokens SET revoked_at = NOW() WHERE user_id = "
	                             "? AND revoked_at IS NULL";
	static const char tickets[] = "UPDATE ws_tickets SET used_at = NOW() WHERE user_id = ? "
	                              "AND used_at IS NULL";
	static const char ended[] =
	        "INSERT INTO event_queue (target_kind, target_id, type, payload) "
	        "VALUES ('user', ?, 'sessions_ended', '{}')";
	const struct update_me *a = arg;
	long long n =
	        YQ_DB_EXEC(db, upd, NULL, YQ_PSTR_OR_NULL(a->username), YQ_PSTR_OR_NULL(a->email),
	                   YQ_PSTR_OR_NULL(a->avatar), a->hash ? YQ_PSTR(a->hash) : YQ_PNULL,
	                   YQ_PINT(a->hash ? 1 : 0), YQ_PINT(a->user_id));
	if (n >= 0 && a->hash)
		n = YQ_DB_EXEC(db, revoke, NULL, YQ_PINT(a->user_id));
	if (n >= 0 && a->hash)
		n = YQ_DB_EXEC(db, tickets, NULL, YQ_PINT(a->user_id));
	if (n >= 0 && a->hash)
		n = YQ_DB_EXEC(db, ended, NULL, YQ_PINT(a->user_id));
	if (n >= 0 && a->hash)
		yq_db_mark_queued(db);
	return n < 0 ? (int)n : 0;
}

/* PUT /users/me */
int
h_users_update_me(struct yq_req *r)
{
	json_object *body;
	size_t pwlen = 0, curlen = 0;
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	const char *username = field_username(r, body, false);
	const char *email = field_email(r, body, false);
	const char *avatar = field_avatar(r, body);
	const char *password = field_password(r, body, "password", false, &pwlen);
	const char *current = yq_body_str(r, body, "current_password", false, 1, 1024, &curlen);
	if ((email || password) && !current && !r->errors)
		yq_http_invalid(r, "body", "current_password", "missing",
		                "current_password is required to change email or password");
	if (yq_http_invalid_done(r) < 0)
		goto out;

	if ((email || password) && current_password_ok(r, current, curlen) < 0)
		goto out;
	char hash[YQ_PWHASH_MAX];
	if (password && yq_password_hash(r->cfg, password, pwlen, hash) < 0) {
		rc = yq_http_fail(r, YQ_ENOMEM);
		goto out;
	}
	struct update_me a = { r->user->id, username, email, avatar, password ? hash : NULL };
	long long n = yq_db_tx(r->db, update_me_tx, &a);
	if (n == YQ_EDUP) {
		rc = duplicate(r);
		goto out;
	}
	struct yq_user u;
	if (n < 0 || (n = yq_user_load(r, r->user->id, &u)) < 0) {
		rc = yq_http_fail(r, (int)n);
		goto out;
	}
	rc = yq_http_json(r, 200, yq_user_json(&u, true));
out:
	json_object_put(body);
	return rc;
}

/* GET /users/?q=prefix: keyset paging on username (unique, so the cursor
 * is just the last name returned, base64url-encoded). */
int
h_users_search(struct yq_req *r)
{
	static const char sql[] =
	        "SELECT id, username, avatar_url, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), "
	        "EXISTS (SELECT 1 FROM presence p WHERE p.user_id = users.id "
	        "AND p.seen_at > NOW() - INTERVAL ? SECOND) "
	        "FROM users WHERE username LIKE ? AND username > ? ORDER BY username LIMIT ?";
	const struct yq_kv *q = yq_form_get(&r->query, "q");
	const struct yq_kv *cur = yq_form_get(&r->query, "cursor");
	long long limit;
	char after[64] = "";

	if (!q)
		yq_http_invalid(r, "query", "q", "missing", "Field required");
	else if (q->value_len < 1 || yq_utf8_chars(q->value, q->value_len) > 32)
		yq_http_invalid(r, "query", "q", "string_too_long",
		                "String should have 1 to 32 characters");
	yq_query_limit(r, &limit);
	if (cur && *cur->value) {
		/* the cursor is a username: anything else would reach the ascii
		 * column as a foreign string (and fail with a collation error) */
		long n = yq_b64url_decode((unsigned char *)after, sizeof(after) - 1, cur->value,
		                          cur->value_len);
		if (n > 0 && n <= 32) {
			after[n] = '\0';
			if ((size_t)n != strlen(after) || !username_chars_ok(after))
				n = -1;
		}
		if (n < 1 || n > 32) {
			after[0] = '\0';
			yq_http_invalid(r, "query", "cursor", "value_error", "Invalid cursor");
		}
	}
	if (yq_http_invalid_done(r) < 0)
		return -1;

	json_object *items = json_object_new_array();
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	if (!username_chars_ok(q->value)) {
		/* nothing can match a name with characters names cannot have */
		json_object_object_add(o, "next_cursor", NULL);
		return yq_http_json(r, 200, o);
	}
	char pattern[80];
	size_t pl = 0;
	for (const char *p = q->value; *p; p++) {
		if (*p == '_' || *p == '%' || *p == '\\')
			pattern[pl++] = '\\';
		pattern[pl++] = *p;
	}
	pattern[pl++] = '%';
	pattern[pl] = '\0';

	struct yq_rows *rows;
	long long n = YQ_DB_EXEC(r->db, sql, &rows, YQ_PINT(r->cfg->presence_ttl), YQ_PSTR(pattern),
	                         YQ_PSTR(after), YQ_PINT(limit + 1));
	if (n < 0) {
		json_object_put(o);
		return yq_http_fail(r, (int)n);
	}
	unsigned shown = rows->nrows > limit ? (unsigned)limit : rows->nrows;
	for (unsigned i = 0; i < shown; i++) {
		json_object *u = json_object_new_object();
		yq_json_add_int(u, "id", yq_rows_int(rows, i, 0));
		yq_json_add_str(u, "username", yq_rows_str(rows, i, 1));
		yq_json_add_str(u, "avatar_url", yq_rows_str(rows, i, 2));
		yq_json_add_str(u, "created_at", yq_rows_str(rows, i, 3));
		yq_json_add_bool(u, "online", yq_rows_int(rows, i, 4) != 0);
		json_object_array_add(items, u);
	}
	if (rows->nrows > limit) {
		char c[64];
		const char *last = yq_rows_str(rows, shown - 1, 1);
		yq_b64url_encode(c, sizeof(c), (const unsigned char *)last, strlen(last));
		yq_json_add_str(o, "next_cursor", c);
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	yq_rows_free(rows);
	return yq_http_json(r, 200, o);
}
