/*
 * http.h - the request a handler sees and the helpers that build the
 * response.
 *
 * A handler reads its inputs from struct yq_req (method, path ids, query,
 * body, the authenticated user) and either sets a response with
 * yq_http_json()/yq_http_empty() and returns 0, or returns the value of
 * yq_http_error()/yq_http_fail() (-1).  Field validation errors pile up in
 * r->errors; yq_http_invalid_done() turns them into one 422 in FastAPI's
 * shape.  Exactly one place (main.c) writes a response to the wire.
 */
#ifndef YQ_HTTP_H
#define YQ_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "core/config.h"
#include "core/db.h"
#include "core/util.h"

#define YQ_MAX_PARAMS   32
#define YQ_MAX_PATH_IDS 4
/* Bounds of the request target, each answered 414 in the JSON shape: the
 * path (without the query) must fit path_buf (2047 bytes; no route comes
 * near), the query string YQ_MAX_QUERY bytes (32 parameters of ~128 bytes;
 * below nginx's and Apache's 8 KiB request line, so ours is the 414 a
 * client sees). */
#define YQ_MAX_QUERY 4096

struct yq_kv {
	char *key;
	char *value;
	size_t value_len;
};

/* A decoded application/x-www-form-urlencoded string (query or body). */
struct yq_form {
	unsigned n;
	struct yq_kv kv[YQ_MAX_PARAMS];
	char *storage;
};

/* UTF-8 takes up to 4 bytes a character: a VARCHAR(n) utf8mb4 column
 * needs n * YQ_UTF8_MAX + 1 bytes in C. */
#define YQ_UTF8_MAX 4

/* A users row; every buffer holds its column's longest value in bytes
 * (sql/001_accounts.sql: username and email are ASCII). */
struct yq_user {
	long long id;
	char username[32 + 1];
	char email[254 + 1];
	char avatar_url[512 * YQ_UTF8_MAX + 1];
	long long token_version;
	char password_hash[255 + 1];
	char created_at[24];
	char updated_at[24];
};

struct yq_req {
	/* context */
	const struct yq_config *cfg;
	struct yq_db *db;
	long long now; /* epoch seconds at arrival */
	/* input */
	const char *method;
	const char *path;         /* below the API prefix, no query string */
	char path_buf[2048];      /* the path, NUL-terminated, that path points into */
	const char *content_type; /* may be NULL */
	const char *remote_addr;
	const char *authorization;
	char *body; /* NUL-terminated copy, may be NULL */
	size_t body_len;
	struct yq_form query;
	long long ids[YQ_MAX_PATH_IDS];
	unsigned nids;
	struct yq_user *user; /* set for routes that need auth */
	long long token_exp;  /* exp of the bearer token */
	/* output */
	int status;
	json_object *resp;     /* NULL for no body */
	const char *text_type; /* set by yq_http_text: the body is text */
	struct yq_buf text;
	json_object *errors;   /* pending 422 entries */
	struct yq_buf headers; /* extra "Name: value\r\n" lines */
};

/* Parse s (len bytes) as a urlencoded form into f.  -1 on a bad escape,
 * an encoded NUL or more than YQ_MAX_PARAMS pairs. */
int yq_form_parse(struct yq_form *f, const char *s, size_t len);
void yq_form_free(struct yq_form *f);
/* Parse the query string into r->query: 400 (written, -1) when it is no
 * urlencoded form or a name is not UTF-8; a value that is not well-formed
 * UTF-8 is recorded as a 422 entry for its name (dispatch answers it
 * before any handler runs), so no handler ever passes such bytes to a
 * column. */
int yq_query_parse(struct yq_req *r, const char *qs, size_t len);
/* Value of the first pair named key, or NULL. */
const struct yq_kv *yq_form_get(const struct yq_form *f, const char *key);

/* Is ct (a Content-Type header) the media type want, ignoring parameters
 * and case? */
bool yq_media_type_is(const char *ct, const char *want);

/* Response helpers. */
int yq_http_json(struct yq_req *r, int status, json_object *body);
int yq_http_empty(struct yq_req *r, int status);
/* Answer r->text (filled by the caller) as content_type (a static
 * string) instead of JSON: only the pool status page does. */
int yq_http_text(struct yq_req *r, int status, const char *content_type);
int yq_http_error(struct yq_req *r, int status, const char *detail);
/* Map an enum yq_err to 503/409/404/500 with a generic detail. */
int yq_http_fail(struct yq_req *r, int err);
void yq_http_header(struct yq_req *r, const char *name, const char *value);
const char *yq_http_reason(int status);

/* Validation: record one invalid field; loc is ("body"|"query", name). */
void yq_http_invalid(struct yq_req *r, const char *where, const char *name, const char *type,
                     const char *msg);
/* If any field was recorded invalid, set the 422 response and return -1. */
int yq_http_invalid_done(struct yq_req *r);

/* The JSON body as an object: 415 for another content type, 400 for
 * malformed JSON, 422 when it is not an object or holds an integer outside
 * int64 or a lone surrogate escape (json.h).  *out owned by caller. */
int yq_http_body_object(struct yq_req *r, json_object **out);

/* Typed members of a body object; each records a 422 entry when the value
 * is present but wrong, or absent and required.  The return value says
 * whether the caller got a usable value: the string (NULL if not; a JSON
 * null of an optional member is NULL too), or true with *out set.
 * yq_body_str's bounds count characters (code points), *len gets bytes. */
const char *yq_body_str(struct yq_req *r, json_object *obj, const char *key, bool required,
                        size_t minlen, size_t maxlen, size_t *len);
bool yq_body_int(struct yq_req *r, json_object *obj, const char *key, bool required, long long min,
                 long long max, long long *out);
bool yq_body_bool(struct yq_req *r, json_object *obj, const char *key, bool required, bool *out);

/* ?limit= with the SPEC's default 20 and range 1..100. */
bool yq_query_limit(struct yq_req *r, long long *limit);

/* Keyset paging on ids: ?cursor= is the opaque form (base64url of the
 * decimal) of the last id shown; *last gets it (0 when absent or empty).
 * Anything that does not decode to a positive int64 records a 422 and
 * returns false.  yq_page_json() makes the next one. */
bool yq_query_cursor(struct yq_req *r, long long *last);

/* ?limit= and ?cursor= for a list paged on ids; *bound is the cursor's id,
 * or (no cursor) INT64_MAX for newest-first lists and 0 for oldest-first
 * ones, ready for "id < ?" or "id > ?". */
void yq_query_page(struct yq_req *r, bool newest_first, long long *limit, long long *bound);

/* {items, next_cursor} from rows selected with LIMIT limit + 1, the id in
 * column 0; item() makes one element. */
json_object *yq_page_json(const struct yq_rows *rows, long long limit,
                          json_object *(*item)(const struct yq_rows *rows, unsigned i));

/* Answer a list: run sql (with LIMIT limit + 1, the id in column 0) and
 * send the page, or the database error. */
int yq_http_page(struct yq_req *r, const char *sql, const struct yq_param *params, unsigned np,
                 long long limit, json_object *(*item)(const struct yq_rows *rows, unsigned i));
#define YQ_HTTP_PAGE(r, sql, limit, item, ...)                                                   \
	yq_http_page((r), (sql), (const struct yq_param[]){ __VA_ARGS__ },                       \
	             sizeof((const struct yq_param[]){ __VA_ARGS__ }) / sizeof(struct yq_param), \
	             (limit), (item))

#endif
