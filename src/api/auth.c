/*
 * auth.c - SPEC section 2, tokens: login, refresh with rotation and reuse
 * detection, check, revoke, WebSocket tickets, and the bearer check every
 * protected route runs first.
 *
 * Refresh tokens form families: login starts one, each refresh marks the
 * presented token used and adds its successor.  A used token presented
 * again means two parties hold the family (one of them a thief), so the
 * whole family is revoked and both must log in again.  The lookup takes a
 * row lock (SELECT ... FOR UPDATE) so two refreshes of one token are
 * serialized: exactly one gets a new pair.
 */
#include "config.h"

#include "api/handlers.h"
#include "core/json.h"
#include "core/log.h"
#include "core/password.h"
#include "core/ratelimit.h"
#include "core/token.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
unauthorized(struct yq_req *r, const char *detail)
{
	yq_http_header(r, "WWW-Authenticate", "Bearer");
	return yq_http_error(r, 401, detail);
}

int
yq_auth_require(struct yq_req *r)
{
	static struct yq_user user; /* one request at a time per process */
	const char *h = r->authorization;
	struct yq_claims c;
	const char *why;

	if (!h || !*h)
		return unauthorized(r, "Not authenticated");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(r, "Not authenticated");
	h += 7;
	while (*h == ' ')
		h++;
	if (yq_token_verify(r->cfg, h, r->now, &c, &why) < 0) {
		yq_debug("bearer token rejected: %s", why);
		return unauthorized(r, "Could not validate credentials");
	}
	int rc = yq_user_load(r, c.sub, &user);
	if (rc == YQ_ENOTFOUND || (rc == 0 && user.token_version != c.ver))
		return unauthorized(r, "Could not validate credentials");
	if (rc < 0)
		return yq_http_fail(r, rc);
	r->user = &user;
	r->token_exp = c.exp;
	return 0;
}

/* The credentials of /token and /token/refresh come as an OAuth2 form or
 * as JSON; either way we end up with a flat set of string fields. */
struct creds {
	json_object *json;
	struct yq_form form;
	bool is_form;
};

static int
creds_parse(struct yq_req *r, struct creds *c)
{
	memset(c, 0, sizeof(*c));
	if (yq_media_type_is(r->content_type, "application/x-www-form-urlencoded")) {
		c->is_form = true;
		if (yq_form_parse(&c->form, r->body, r->body_len) < 0)
			return yq_http_error(r, 400, "Malformed form body");
		return 0;
	}
	if (!yq_media_type_is(r->content_type, "application/json"))
		return yq_http_error(r, 415,
		                     "Unsupported media type: send application/json or "
		                     "application/x-www-form-urlencoded");
	return yq_http_body_object(r, &c->json);
}

static void
creds_free(struct creds *c)
{
	json_object_put(c->json);
	yq_form_free(&c->form);
}

static const char *
creds_field(struct yq_req *r, struct creds *c, const char *key, size_t maxlen, size_t *len)
{
	if (!c->is_form)
		return yq_body_str(r, c->json, key, true, 1, maxlen, len);
	const struct yq_kv *kv = yq_form_get(&c->form, key);
	if (!kv) {
		yq_http_invalid(r, "body", key, "missing", "Field required");
		return NULL;
	}
	if (kv->value_len < 1 || kv->value_len > maxlen) {
		yq_http_invalid(r, "body", key, "string_too_long", "String has a bad length");
		return NULL;
	}
	*len = kv->value_len;
	return kv->value;
}

struct issued {
	char *access;
	long long exp;
	char refresh[YQ_SECRET_LEN + 1];
};

static const char insert_refresh[] =
        "INSERT INTO refresh_tokens (token_hash, family, user_id, token_version, expires_at) "
        "VALUES (?, ?, ?, ?, NOW() + INTERVAL ? SECOND)";

static int
tokens_response(struct yq_req *r, struct issued *t)
{
	json_object *o = json_object_new_object();

	yq_json_add_str(o, "access_token", t->access);
	yq_json_add_str(o, "refresh_token", t->refresh);
	yq_json_add_str(o, "token_type", "bearer");
	yq_json_add_int(o, "expires_in", r->cfg->access_ttl);
	free(t->access);
	t->access = NULL;
	return yq_http_json(r, 200, o);
}

void
yq_login_key(struct yq_buf *out, const struct yq_user *u, const char *name)
{
	if (u) {
		yq_buf_printf(out, "user:%lld", u->id);
		return;
	}
	size_t n = strlen(name);
	while (n > 0 && name[n - 1] == ' ')
		n--;
	yq_buf_puts(out, "name:");
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)name[i]);
		yq_buf_append(out, &c, 1);
	}
}

/* POST /token */
int
h_token_login(struct yq_req *r)
{
	static const char rehash[] =
	        "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?";
	struct creds c;
	struct yq_buf key = { 0 };
	size_t nlen = 0, plen = 0;
	int rc = -1;

	if (creds_parse(r, &c) < 0)
		goto out;
	const char *name = creds_field(r, &c, "username", 254, &nlen);
	const char *pw = creds_field(r, &c, "password", 1024, &plen);
	if (yq_http_invalid_done(r) < 0)
		goto out;

	long wait =
	        yq_ratelimit_hit(r->db, "login_ip", r->remote_addr, &r->cfg->rl_login_ip, r->now);
	if (wait != 0) {
		rc = wait < 0 ? yq_http_fail(r, (int)wait) : yq_http_too_many(r, wait);
		goto out;
	}
	struct yq_user u;
	int fr = strlen(name) == nlen ? yq_user_find_login(r, name, &u) : YQ_ENOTFOUND;
	if (fr < 0 && fr != YQ_ENOTFOUND) {
		rc = yq_http_fail(r, fr);
		goto out;
	}
	yq_login_key(&key, fr == 0 ? &u : NULL, name);
	wait = yq_ratelimit_peek(r->db, "login_user", key.data, &r->cfg->rl_login_user, r->now);
	if (wait != 0) {
		rc = wait < 0 ? yq_http_fail(r, (int)wait) : yq_http_too_many(r, wait);
		goto out;
	}
	bool ok;
	if (fr == YQ_ENOTFOUND) {
		yq_password_burn(r->cfg, pw, plen);
		ok = false;
	} else {
		ok = yq_password_verify(u.password_hash, pw, plen) == 0;
	}
	if (!ok) {
		yq_ratelimit_hit(r->db, "login_user", key.data, &r->cfg->rl_login_user, r->now);
		rc = unauthorized(r, "Incorrect username or password");
		goto out;
	}
	if (yq_password_needs_rehash(r->cfg, u.password_hash)) {
		char hash[YQ_PWHASH_MAX];
		if (yq_password_hash(r->cfg, pw, plen, hash) == 0)
			YQ_DB_EXEC(r->db, rehash, NULL, YQ_PSTR(hash), YQ_PINT(u.id),
			           YQ_PSTR(u.password_hash));
	}

	struct issued t = { 0 };
	char hash[65], family[YQ_SECRET_LEN + 1];
	yq_random_b64url(family, YQ_SECRET_BYTES);
	yq_secret_new(t.refresh, hash);
	long long n =
	        YQ_DB_EXEC(r->db, insert_refresh, NULL, YQ_PSTR(hash), YQ_PSTR(family),
	                   YQ_PINT(u.id), YQ_PINT(u.token_version), YQ_PINT(r->cfg->refresh_ttl));
	if (n < 0) {
		rc = yq_http_fail(r, (int)n);
		goto out;
	}
	if (yq_token_issue(r->cfg, u.id, u.token_version, r->now, &t.access, &t.exp) < 0) {
		rc = yq_http_fail(r, YQ_EINTERNAL);
		goto out;
	}
	rc = tokens_response(r, &t);
out:
	yq_buf_free(&key);
	creds_free(&c);
	return rc;
}

struct refresh_tx {
	const char *hash;
	unsigned ttl;
	/* out */
	long long user_id;
	long long version;
	bool reused;
	char new_refresh[YQ_SECRET_LEN + 1];
};

enum { REFRESH_OK = 0, REFRESH_DENIED = 1 };

static int
refresh_in_tx(struct yq_db *db, void *arg)
{
	static const char find[] =
	        "SELECT t.id, t.family, t.user_id, t.token_version, t.expires_at > NOW(), "
	        "t.used_at IS NOT NULL, t.revoked_at IS NOT NULL, u.token_version "
	        "FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
	        "WHERE t.token_hash = ? FOR UPDATE";
	static const char revoke_family[] = "UPDATE refresh_tokens SET revoked_at = NOW() WHERE "
	                                    "family = ? AND revoked_at IS NULL";
	static const char mark_used[] = "UPDATE refresh_tokens SET used_at = NOW() WHERE id = ?";
	struct refresh_tx *x = arg;
	struct yq_rows *rows;

	long long n = YQ_DB_EXEC(db, find, &rows, YQ_PSTR(x->hash));
	if (n <= 0) {
		yq_rows_free(rows);
		return n < 0 ? (int)n : REFRESH_DENIED;
	}
	long long id = yq_rows_int(rows, 0, 0);
	char family[YQ_SECRET_LEN + 1];
	yq_strlcpy(family, yq_rows_str(rows, 0, 1), sizeof(family));
	x->user_id = yq_rows_int(rows, 0, 2);
	x->version = yq_rows_int(rows, 0, 3);
	bool live = yq_rows_int(rows, 0, 4), used = yq_rows_int(rows, 0, 5),
	     revoked = yq_rows_int(rows, 0, 6);
	long long user_version = yq_rows_int(rows, 0, 7);
	yq_rows_free(rows);

	if (revoked || !live || user_version != x->version)
		return REFRESH_DENIED;
	if (used) {
		x->reused = true;
		n = YQ_DB_EXEC(db, revoke_family, NULL, YQ_PSTR(family));
		return n < 0 ? (int)n : REFRESH_DENIED; /* commit the revocation */
	}
	if ((n = YQ_DB_EXEC(db, mark_used, NULL, YQ_PINT(id))) < 0)
		return (int)n;
	char hash[65];
	yq_secret_new(x->new_refresh, hash);
	n = YQ_DB_EXEC(db, insert_refresh, NULL, YQ_PSTR(hash), YQ_PSTR(family),
	               YQ_PINT(x->user_id), YQ_PINT(x->version), YQ_PINT(x->ttl));
	return n < 0 ? (int)n : REFRESH_OK;
}

/* POST /token/refresh */
int
h_token_refresh(struct yq_req *r)
{
	struct creds c;
	size_t len = 0;
	int rc = -1;

	if (creds_parse(r, &c) < 0)
		goto out;
	const char *tok = creds_field(r, &c, "refresh_token", 512, &len);
	if (yq_http_invalid_done(r) < 0)
		goto out;
	char hash[65];
	if (strlen(tok) != len || yq_secret_hash(tok, hash) < 0) {
		rc = unauthorized(r, "Invalid refresh token");
		goto out;
	}
	struct refresh_tx x = { .hash = hash, .ttl = r->cfg->refresh_ttl };
	int tr = yq_db_tx(r->db, refresh_in_tx, &x);
	if (tr < 0) {
		rc = yq_http_fail(r, tr);
		goto out;
	}
	if (x.reused)
		yq_warn("refresh token reuse for user %lld: family revoked", x.user_id);
	if (tr == REFRESH_DENIED) {
		rc = unauthorized(r, "Invalid refresh token");
		goto out;
	}
	struct issued t = { 0 };
	memcpy(t.refresh, x.new_refresh, sizeof(t.refresh));
	if (yq_token_issue(r->cfg, x.user_id, x.version, r->now, &t.access, &t.exp) < 0) {
		rc = yq_http_fail(r, YQ_EINTERNAL);
		goto out;
	}
	rc = tokens_response(r, &t);
out:
	creds_free(&c);
	return rc;
}

/* GET /token/check */
int
h_token_check(struct yq_req *r)
{
	json_object *o = json_object_new_object();

	yq_json_add_bool(o, "valid", true);
	yq_json_add_int(o, "user_id", r->user->id);
	yq_json_add_str(o, "username", r->user->username);
	yq_json_add_int(o, "exp", r->token_exp);
	return yq_http_json(r, 200, o);
}

/* POST /token/revoke: log out the family of a refresh token.  Unknown
 * tokens and other people's tokens get the same 204 and change nothing. */
int
h_token_revoke(struct yq_req *r)
{
	static const char sql[] = "UPDATE refresh_tokens t JOIN (SELECT family FROM refresh_tokens "
	                          "WHERE token_hash = ? AND user_id = ?) f ON f.family = t.family "
	                          "SET t.revoked_at = NOW() WHERE t.revoked_at IS NULL";
	json_object *body;
	size_t len = 0;
	int rc = -1;

	if (yq_http_body_object(r, &body) < 0)
		return -1;
	const char *tok = yq_body_str(r, body, "refresh_token", true, 1, 512, &len);
	if (yq_http_invalid_done(r) < 0)
		goto out;
	char hash[65];
	if (strlen(tok) == len && yq_secret_hash(tok, hash) == 0) {
		long long n = YQ_DB_EXEC(r->db, sql, NULL, YQ_PSTR(hash), YQ_PINT(r->user->id));
		if (n < 0) {
			rc = yq_http_fail(r, (int)n);
			goto out;
		}
	}
	rc = yq_http_empty(r, 204);
out:
	json_object_put(body);
	return rc;
}

/* POST /token/ws-ticket */
int
h_token_ws_ticket(struct yq_req *r)
{
	static const char sql[] = "INSERT INTO ws_tickets (ticket_hash, user_id, expires_at) "
	                          "VALUES (?, ?, NOW() + INTERVAL ? SECOND)";
	char ticket[YQ_SECRET_LEN + 1], hash[65];

	yq_secret_new(ticket, hash);
	long long n = YQ_DB_EXEC(r->db, sql, NULL, YQ_PSTR(hash), YQ_PINT(r->user->id),
	                         YQ_PINT(r->cfg->ticket_ttl));
	if (n < 0)
		return yq_http_fail(r, (int)n);
	json_object *o = json_object_new_object();
	yq_json_add_str(o, "ticket", ticket);
	yq_json_add_int(o, "expires_in", r->cfg->ticket_ttl);
	return yq_http_json(r, 200, o);
}
