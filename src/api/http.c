/*
 * http.c - request inputs and response helpers (see http.h).
 *
 * Error bodies follow FastAPI: {"detail": "..."} and, for 422,
 * {"detail": [{"loc": [...], "msg": "...", "type": "..."}]} with pydantic
 * v2's type names, so front ends written for the original keep working.
 */
#include "config.h"

#include "api/http.h"
#include "core/errors.h"
#include "core/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode in place; returns the new length or -1. */
static long
url_decode(char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= len)
				return -1;
			if ((h = hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = (char)(h * 16 + l);
			if (c == '\0')
				return -1;
			i += 2;
		}
		s[o++] = c;
	}
	s[o] = '\0';
	return (long)o;
}

int
yq_form_parse(struct yq_form *f, const char *s, size_t len)
{
	memset(f, 0, sizeof(*f));
	if (!s || len == 0)
		return 0;
	if (memchr(s, '\0', len))
		return -1;
	f->storage = malloc(len + 1);
	if (!f->storage)
		return -1;
	memcpy(f->storage, s, len);
	f->storage[len] = '\0';

	char *p = f->storage, *end = f->storage + len;
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *stop = amp ? amp : end;
		*stop = '\0';
		if (stop > p) {
			if (f->n == YQ_MAX_PARAMS)
				return -1;
			char *eq = strchr(p, '=');
			char *val = eq ? eq + 1 : stop;
			if (eq)
				*eq = '\0';
			long kl = url_decode(p, strlen(p));
			long vl = url_decode(val, strlen(val));
			if (kl < 0 || vl < 0)
				return -1;
			f->kv[f->n].key = p;
			f->kv[f->n].value = val;
			f->kv[f->n].value_len = (size_t)vl;
			f->n++;
		}
		p = stop + 1;
	}
	return 0;
}

int
yq_query_parse(struct yq_req *r, const char *qs, size_t len)
{
	if (yq_form_parse(&r->query, qs, len) < 0)
		return yq_http_error(r, 400, "Malformed query string");
	for (unsigned i = 0; i < r->query.n; i++) {
		const struct yq_kv *kv = &r->query.kv[i];
		if (!yq_utf8_valid(kv->key, strlen(kv->key)))
			return yq_http_error(r, 400, "Malformed query string");
		if (!yq_utf8_valid(kv->value, kv->value_len))
			yq_http_invalid(r, "query", kv->key, "string_unicode",
			                "Input should be a valid string, unable to parse raw data "
			                "as a unicode string");
	}
	return 0;
}

void
yq_form_free(struct yq_form *f)
{
	free(f->storage);
	memset(f, 0, sizeof(*f));
}

const struct yq_kv *
yq_form_get(const struct yq_form *f, const char *key)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].key, key) == 0)
			return &f->kv[i];
	return NULL;
}

bool
yq_media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

const char *
yq_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

int
yq_http_json(struct yq_req *r, int status, json_object *body)
{
	json_object_put(r->resp);
	r->status = status;
	r->resp = body;
	r->text_type = NULL;
	return 0;
}

int
yq_http_empty(struct yq_req *r, int status)
{
	return yq_http_json(r, status, NULL);
}

int
yq_http_text(struct yq_req *r, int status, const char *content_type)
{
	yq_http_json(r, status, NULL);
	r->text_type = content_type;
	return 0;
}

int
yq_http_error(struct yq_req *r, int status, const char *detail)
{
	json_object *o = json_object_new_object();

	yq_json_add_str(o, "detail", detail);
	yq_http_json(r, status, o);
	return -1;
}

void
yq_http_header(struct yq_req *r, const char *name, const char *value)
{
	yq_buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

int
yq_http_fail(struct yq_req *r, int err)
{
	char ra[16];

	switch (err) {
	case YQ_EDBDOWN:
	case YQ_ECONFLICT:
		snprintf(ra, sizeof(ra), "%u", r->cfg->api_retry_after);
		yq_http_header(r, "Retry-After", ra);
		return yq_http_error(r, 503, "Service temporarily unavailable, try again shortly");
	case YQ_EDUP: return yq_http_error(r, 409, "Conflict");
	case YQ_ENOTFOUND: return yq_http_error(r, 404, "Not Found");
	default: return yq_http_error(r, 500, "Internal Server Error");
	}
}

void
yq_http_invalid(struct yq_req *r, const char *where, const char *name, const char *type,
                const char *msg)
{
	if (!r->errors)
		r->errors = json_object_new_array();
	json_object *e = json_object_new_object();
	json_object *loc = json_object_new_array();
	json_object_array_add(loc, json_object_new_string(where));
	if (name)
		json_object_array_add(loc, json_object_new_string(name));
	json_object_object_add(e, "loc", loc);
	yq_json_add_str(e, "msg", msg);
	yq_json_add_str(e, "type", type);
	json_object_array_add(r->errors, e);
}

int
yq_http_invalid_done(struct yq_req *r)
{
	if (!r->errors)
		return 0;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "detail", r->errors);
	r->errors = NULL;
	yq_http_json(r, 422, o);
	return -1;
}

int
yq_http_body_object(struct yq_req *r, json_object **out)
{
	const char *why;

	*out = NULL;
	if (!yq_media_type_is(r->content_type, "application/json"))
		return yq_http_error(r, 415, "Unsupported media type: send application/json");
	json_object *o = yq_json_parse(r->body ? r->body : "", r->body_len, &why);
	if (!o && (why == yq_json_err_int_range || why == yq_json_err_surrogate)) {
		yq_http_invalid(
		        r, "body", NULL,
		        why == yq_json_err_int_range ? "int_parsing_size" : "string_unicode", why);
		return yq_http_invalid_done(r);
	}
	if (!o && why)
		return yq_http_error(r, 400, why);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		yq_http_invalid(
		        r, "body", NULL, "model_attributes_type",
		        "Input should be a valid dictionary or object to extract fields from");
		return yq_http_invalid_done(r);
	}
	*out = o;
	return 0;
}

static bool
check_presence(struct yq_req *r, enum yq_jfield f, const char *key, bool required, const char *type,
               const char *msg)
{
	if (f == YQ_JF_OK)
		return true;
	if (f == YQ_JF_TYPE || (f == YQ_JF_NULL && required))
		yq_http_invalid(r, "body", key, type, msg);
	else if (f == YQ_JF_MISSING && required)
		yq_http_invalid(r, "body", key, "missing", "Field required");
	return false;
}

const char *
yq_body_str(struct yq_req *r, json_object *obj, const char *key, bool required, size_t minlen,
            size_t maxlen, size_t *len)
{
	json_object *v;
	enum yq_jfield f = yq_json_field(obj, key, json_type_string, &v);

	if (!check_presence(r, f, key, required, "string_type", "Input should be a valid string"))
		return NULL;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	size_t chars = yq_utf8_chars(s, n);
	char msg[96];
	if (chars < minlen) {
		snprintf(msg, sizeof(msg), "String should have at least %zu character%s", minlen,
		         minlen == 1 ? "" : "s");
		yq_http_invalid(r, "body", key, "string_too_short", msg);
		return NULL;
	}
	if (chars > maxlen) {
		snprintf(msg, sizeof(msg), "String should have at most %zu characters", maxlen);
		yq_http_invalid(r, "body", key, "string_too_long", msg);
		return NULL;
	}
	if (len)
		*len = n;
	return s;
}

bool
yq_body_int(struct yq_req *r, json_object *obj, const char *key, bool required, long long min,
            long long max, long long *out)
{
	json_object *v;
	enum yq_jfield f = yq_json_field(obj, key, json_type_int, &v);

	if (!check_presence(r, f, key, required, "int_type", "Input should be a valid integer"))
		return false;
	long long n = json_object_get_int64(v);
	char msg[96];
	if (n < min) {
		snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld", min);
		yq_http_invalid(r, "body", key, "greater_than_equal", msg);
		return false;
	}
	if (n > max) {
		snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", max);
		yq_http_invalid(r, "body", key, "less_than_equal", msg);
		return false;
	}
	*out = n;
	return true;
}

bool
yq_body_bool(struct yq_req *r, json_object *obj, const char *key, bool required, bool *out)
{
	json_object *v;
	enum yq_jfield f = yq_json_field(obj, key, json_type_boolean, &v);

	if (!check_presence(r, f, key, required, "bool_type", "Input should be a valid boolean"))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

bool
yq_query_limit(struct yq_req *r, long long *limit)
{
	const struct yq_kv *kv = yq_form_get(&r->query, "limit");
	int64_t n;

	*limit = 20;
	if (!kv)
		return true;
	if (yq_parse_i64(kv->value, 1, 100, &n) < 0) {
		yq_http_invalid(r, "query", "limit", "int_parsing",
		                "Input should be an integer between 1 and 100");
		return false;
	}
	*limit = n;
	return true;
}

bool
yq_query_cursor(struct yq_req *r, long long *last)
{
	const struct yq_kv *kv = yq_form_get(&r->query, "cursor");
	char buf[24];
	int64_t id;

	*last = 0;
	if (!kv || !*kv->value)
		return true;
	long n = yq_b64url_decode((unsigned char *)buf, sizeof(buf) - 1, kv->value, kv->value_len);
	if (n > 0) {
		buf[n] = '\0';
		if ((size_t)n == strlen(buf) && yq_parse_i64(buf, 1, INT64_MAX, &id) == 0) {
			*last = id;
			return true;
		}
	}
	yq_http_invalid(r, "query", "cursor", "value_error", "Invalid cursor");
	return false;
}

void
yq_query_page(struct yq_req *r, bool newest_first, long long *limit, long long *bound)
{
	yq_query_limit(r, limit);
	yq_query_cursor(r, bound);
	if (!*bound && newest_first)
		*bound = INT64_MAX;
}

json_object *
yq_page_json(const struct yq_rows *rows, long long limit,
             json_object *(*item)(const struct yq_rows *rows, unsigned i))
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();
	unsigned shown = rows->nrows > limit ? (unsigned)limit : rows->nrows;

	for (unsigned i = 0; i < shown; i++)
		json_object_array_add(items, item(rows, i));
	json_object_object_add(o, "items", items);
	if (rows->nrows > limit) {
		char num[24], c[40];
		snprintf(num, sizeof(num), "%lld", yq_rows_int(rows, shown - 1, 0));
		yq_b64url_encode(c, sizeof(c), (const unsigned char *)num, strlen(num));
		yq_json_add_str(o, "next_cursor", c);
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	return o;
}

int
yq_http_page(struct yq_req *r, const char *sql, const struct yq_param *params, unsigned np,
             long long limit, json_object *(*item)(const struct yq_rows *rows, unsigned i))
{
	struct yq_rows *rows;
	long long n = yq_db_exec(r->db, sql, params, np, &rows);

	if (n < 0)
		return yq_http_fail(r, (int)n);
	json_object *o = yq_page_json(rows, limit, item);
	yq_rows_free(rows);
	return yq_http_json(r, 200, o);
}
