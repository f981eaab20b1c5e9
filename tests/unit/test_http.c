/*
 * test_http.c - unit tests for the parts of src/api/http.c that need no
 * FastCGI connection.
 *
 * Covers: urlencoded forms (yq_form_parse/get/free: '+', %XX in either
 * case, bad and NUL escapes, empty pairs, keys without '=', the
 * YQ_MAX_PARAMS bound, first of repeated keys wins); yq_media_type_is; the
 * response helpers on a struct yq_req built on the stack (yq_http_error,
 * yq_http_invalid + yq_http_invalid_done in FastAPI's 422 shape,
 * yq_http_fail's status mapping and Retry-After); yq_http_body_object
 * (415/400/422/ok); the typed body getters yq_body_str/int/bool (type
 * errors, UTF-8 character counts, missing required vs optional),
 * yq_query_limit, yq_query_parse (UTF-8 of every value), yq_query_cursor
 * (the shapes of an id cursor) and the 422s of out-of-range integers and
 * lone surrogates.
 */
#include "config.h"

#include "api/http.h"
#include "core/errors.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- forms ---- */

START_TEST(test_form_plus_and_escapes)
{
	struct yq_form f;
	const char *s = "a=1&b=hello+world&c=%41%62%2f%2F%e4%B8%80&d%20e=x%2By";

	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), 0);
	ck_assert_uint_eq(f.n, 4);
	const struct yq_kv *kv = yq_form_get(&f, "a");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "1");
	ck_assert_uint_eq(kv->value_len, 1);
	kv = yq_form_get(&f, "b");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "hello world");
	ck_assert_uint_eq(kv->value_len, 11);
	kv = yq_form_get(&f, "c");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "Ab//\xe4\xb8\x80");
	ck_assert_uint_eq(kv->value_len, 7);
	kv = yq_form_get(&f, "d e");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "x+y");
	ck_assert_ptr_null(yq_form_get(&f, "d%20e"));
	ck_assert_ptr_null(yq_form_get(&f, "missing"));
	yq_form_free(&f);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_ptr_null(f.storage);
}
END_TEST

START_TEST(test_form_does_not_modify_input)
{
	struct yq_form f;
	char s[] = "a=%41+b";

	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), 0);
	ck_assert_str_eq(s, "a=%41+b");
	ck_assert_str_eq(yq_form_get(&f, "a")->value, "A b");
	yq_form_free(&f);
}
END_TEST

START_TEST(test_form_bad_escapes)
{
	static const char *const bad[] = {
		"x=%4", "x=%zz",      "x=%",   "x=%g1", "x=%1g",
		"%4=1", "a=1&x=%%41", "x=%00", "%00=1", "x=a%00b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct yq_form f;
		ck_assert_msg(yq_form_parse(&f, bad[i], strlen(bad[i])) == -1, "accepted %s",
		              bad[i]);
		yq_form_free(&f);
	}
}
END_TEST

START_TEST(test_form_raw_nul)
{
	struct yq_form f;
	static const char s[] = "a=1\0&b=2";

	ck_assert_int_eq(yq_form_parse(&f, s, sizeof(s) - 1), -1);
	yq_form_free(&f);
}
END_TEST

START_TEST(test_form_empty_pairs_and_bare_keys)
{
	struct yq_form f;
	const char *s = "&a=1&&b=2&flag&=v&";

	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), 0);
	ck_assert_uint_eq(f.n, 4);
	ck_assert_str_eq(yq_form_get(&f, "a")->value, "1");
	ck_assert_str_eq(yq_form_get(&f, "b")->value, "2");
	const struct yq_kv *kv = yq_form_get(&f, "flag");
	ck_assert_ptr_nonnull(kv);
	ck_assert_str_eq(kv->value, "");
	ck_assert_uint_eq(kv->value_len, 0);
	ck_assert_str_eq(yq_form_get(&f, "")->value, "v");
	yq_form_free(&f);

	ck_assert_int_eq(yq_form_parse(&f, "", 0), 0);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_ptr_null(yq_form_get(&f, "a"));
	yq_form_free(&f);
	ck_assert_int_eq(yq_form_parse(&f, NULL, 0), 0);
	ck_assert_uint_eq(f.n, 0);
	yq_form_free(&f);

	ck_assert_int_eq(yq_form_parse(&f, "a=b=c", 5), 0);
	ck_assert_str_eq(yq_form_get(&f, "a")->value, "b=c");
	yq_form_free(&f);
}
END_TEST

/* "k0=0&k1=1&..." with n pairs, and extra empty pairs between them. */
static char *
many_pairs(unsigned n, bool empties)
{
	struct yq_buf b = { 0 };

	for (unsigned i = 0; i < n; i++)
		yq_buf_printf(&b, "%sk%u=%u%s", i ? "&" : "", i, i, empties ? "&&" : "");
	return b.data;
}

START_TEST(test_form_max_params)
{
	struct yq_form f;
	char *s = many_pairs(YQ_MAX_PARAMS, true);

	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), 0);
	ck_assert_uint_eq(f.n, YQ_MAX_PARAMS);
	ck_assert_str_eq(yq_form_get(&f, "k31")->value, "31");
	yq_form_free(&f);
	free(s);

	s = many_pairs(YQ_MAX_PARAMS + 1, false);
	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), -1);
	yq_form_free(&f);
	free(s);
}
END_TEST

START_TEST(test_form_first_repeated_key_wins)
{
	struct yq_form f;
	const char *s = "a=1&b=x&a=2&a=3";

	ck_assert_int_eq(yq_form_parse(&f, s, strlen(s)), 0);
	ck_assert_uint_eq(f.n, 4);
	ck_assert_str_eq(yq_form_get(&f, "a")->value, "1");
	yq_form_free(&f);
}
END_TEST

/* ---- media types ---- */

START_TEST(test_media_type)
{
	const char *j = "application/json";

	ck_assert(yq_media_type_is("application/json", j));
	ck_assert(yq_media_type_is("application/json; charset=utf-8", j));
	ck_assert(yq_media_type_is("application/json;charset=UTF-8", j));
	ck_assert(yq_media_type_is("APPLICATION/JSON", j));
	ck_assert(yq_media_type_is("Application/Json ; charset=utf-8", j));
	ck_assert(!yq_media_type_is("application/jsonp", j));
	ck_assert(!yq_media_type_is("application/json-patch+json", j));
	ck_assert(!yq_media_type_is("application/jso", j));
	ck_assert(!yq_media_type_is(NULL, j));
	ck_assert(!yq_media_type_is("", j));
	ck_assert(!yq_media_type_is("text/plain", j));
	ck_assert(!yq_media_type_is("text/json", j));
	ck_assert(yq_media_type_is("application/x-www-form-urlencoded",
	                           "application/x-www-form-urlencoded"));
}
END_TEST

/* ---- response helpers ---- */

static struct yq_config cfg;

static void
req_init(struct yq_req *r)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.api_retry_after = 2;
	memset(r, 0, sizeof(*r));
	r->cfg = &cfg;
}

static void
req_free(struct yq_req *r)
{
	json_object_put(r->resp);
	json_object_put(r->errors);
	yq_buf_free(&r->headers);
	yq_form_free(&r->query);
}

/* r->resp's "detail" when it is a string, else NULL. */
static const char *
detail_str(const struct yq_req *r)
{
	json_object *d;

	if (!r->resp || !json_object_object_get_ex(r->resp, "detail", &d) ||
	    !json_object_is_type(d, json_type_string))
		return NULL;
	return json_object_get_string(d);
}

/* r->resp's "detail" when it is an array, else NULL. */
static json_object *
detail_arr(const struct yq_req *r)
{
	json_object *d;

	if (!r->resp || !json_object_object_get_ex(r->resp, "detail", &d) ||
	    !json_object_is_type(d, json_type_array))
		return NULL;
	return d;
}

static const char *
str_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Check one 422 entry: loc == [where, name] (or [where] if name is NULL),
 * type as given, msg a non-empty string. */
static void
check_entry(json_object *e, const char *where, const char *name, const char *type)
{
	json_object *loc;

	ck_assert(json_object_is_type(e, json_type_object));
	ck_assert(json_object_object_get_ex(e, "loc", &loc));
	ck_assert(json_object_is_type(loc, json_type_array));
	ck_assert_uint_eq(json_object_array_length(loc), name ? 2 : 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(loc, 0)), where);
	if (name)
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(loc, 1)), name);
	ck_assert_pstr_eq(str_member(e, "type"), type);
	const char *msg = str_member(e, "msg");
	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_gt(strlen(msg), 0);
}

/* The pending r->errors entry number i. */
static json_object *
pending(const struct yq_req *r, size_t i)
{
	ck_assert_ptr_nonnull(r->errors);
	ck_assert_uint_gt(json_object_array_length(r->errors), i);
	return json_object_array_get_idx(r->errors, i);
}

START_TEST(test_http_error)
{
	struct yq_req r;

	req_init(&r);
	ck_assert_int_eq(yq_http_error(&r, 404, "Room not found"), -1);
	ck_assert_int_eq(r.status, 404);
	ck_assert_pstr_eq(detail_str(&r), "Room not found");
	ck_assert_int_eq(json_object_object_length(r.resp), 1);

	/* a second response replaces the first (and the first is freed) */
	ck_assert_int_eq(yq_http_error(&r, 403, "Forbidden"), -1);
	ck_assert_int_eq(r.status, 403);
	ck_assert_pstr_eq(detail_str(&r), "Forbidden");
	ck_assert_uint_eq(r.headers.len, 0);
	req_free(&r);
}
END_TEST

START_TEST(test_http_invalid_422_shape)
{
	struct yq_req r;

	req_init(&r);
	ck_assert_int_eq(yq_http_invalid_done(&r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_null(r.resp);

	yq_http_invalid(&r, "body", "email", "value_error", "value is not a valid email address");
	yq_http_invalid(&r, "query", "limit", "int_parsing", "Input should be an integer");
	yq_http_invalid(&r, "body", NULL, "model_attributes_type", "Input should be an object");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(yq_http_invalid_done(&r), -1);
	ck_assert_int_eq(r.status, 422);
	ck_assert_ptr_null(r.errors);
	json_object *d = detail_arr(&r);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(json_object_array_length(d), 3);
	check_entry(json_object_array_get_idx(d, 0), "body", "email", "value_error");
	ck_assert_pstr_eq(str_member(json_object_array_get_idx(d, 0), "msg"),
	                  "value is not a valid email address");
	check_entry(json_object_array_get_idx(d, 1), "query", "limit", "int_parsing");
	check_entry(json_object_array_get_idx(d, 2), "body", NULL, "model_attributes_type");
	req_free(&r);
}
END_TEST

START_TEST(test_http_fail_db_down)
{
	struct yq_req r;

	req_init(&r);
	ck_assert_int_eq(yq_http_fail(&r, YQ_EDBDOWN), -1);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(detail_str(&r));
	ck_assert_ptr_nonnull(r.headers.data);
	ck_assert_ptr_nonnull(strstr(r.headers.data, "Retry-After: 2\r\n"));
	req_free(&r);

	req_init(&r);
	cfg.api_retry_after = 17;
	ck_assert_int_eq(yq_http_fail(&r, YQ_EDBDOWN), -1);
	ck_assert_ptr_nonnull(strstr(r.headers.data, "Retry-After: 17\r\n"));
	req_free(&r);
}
END_TEST

START_TEST(test_http_fail_mapping)
{
	static const struct {
		int err;
		int status;
	} map[] = {
		{ YQ_EDUP, 409 },
		{ YQ_ENOTFOUND, 404 },
		{ YQ_EINTERNAL, 500 },
		{ YQ_ENOMEM, 500 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct yq_req r;
		req_init(&r);
		ck_assert_int_eq(yq_http_fail(&r, map[i].err), -1);
		ck_assert_int_eq(r.status, map[i].status);
		const char *d = detail_str(&r);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_gt(strlen(d), 0);
		/* only 503 carries Retry-After */
		ck_assert_uint_eq(r.headers.len, 0);
		req_free(&r);
	}
}
END_TEST

static int
body_object(struct yq_req *r, const char *ct, const char *body, json_object **out)
{
	req_init(r);
	r->content_type = ct;
	r->body = body ? strdup(body) : NULL;
	r->body_len = body ? strlen(body) : 0;
	int rc = yq_http_body_object(r, out);
	free(r->body);
	r->body = NULL;
	return rc;
}

START_TEST(test_body_object_not_json_415)
{
	struct yq_req r;
	json_object *sentinel = json_object_new_object();
	json_object *o = sentinel;

	/* *out is cleared on failure, so a caller's put is always safe */
	ck_assert_int_eq(body_object(&r, "text/plain", "{}", &o), -1);
	ck_assert_int_eq(r.status, 415);
	ck_assert_ptr_null(o);
	json_object_put(sentinel);
	ck_assert_ptr_nonnull(detail_str(&r));
	req_free(&r);

	ck_assert_int_eq(body_object(&r, NULL, "{}", &o), -1);
	ck_assert_int_eq(r.status, 415);
	req_free(&r);

	ck_assert_int_eq(body_object(&r, "application/x-www-form-urlencoded", "a=1", &o), -1);
	ck_assert_int_eq(r.status, 415);
	req_free(&r);
}
END_TEST

START_TEST(test_body_object_malformed_400)
{
	static const char *const bad[] = {
		"{", "{\"a\":1} x", "{\"a\":1,}", "", "{\"a\":\"\\u0000\"}", "nul",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct yq_req r;
		json_object *o = NULL;
		ck_assert_int_eq(body_object(&r, "application/json; charset=utf-8", bad[i], &o),
		                 -1);
		ck_assert_msg(r.status == 400, "%s gave %d", bad[i], r.status);
		ck_assert_ptr_null(o);
		ck_assert_ptr_nonnull(detail_str(&r));
		req_free(&r);
	}

	struct yq_req r;
	json_object *o = NULL;
	ck_assert_int_eq(body_object(&r, "application/json", NULL, &o), -1);
	ck_assert_int_eq(r.status, 400);
	req_free(&r);
}
END_TEST

START_TEST(test_body_object_non_object_422)
{
	struct yq_req r;
	json_object *o = NULL;

	ck_assert_int_eq(body_object(&r, "application/json", "[1, 2]", &o), -1);
	ck_assert_int_eq(r.status, 422);
	ck_assert_ptr_null(o);
	json_object *d = detail_arr(&r);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(json_object_array_length(d), 1);
	check_entry(json_object_array_get_idx(d, 0), "body", NULL, "model_attributes_type");
	req_free(&r);

	/* valid JSON that is not an object, null included, is a 422 */
	static const char *const scalars[] = { "\"str\"", "12", "true", "null", " null\n" };
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		ck_assert_int_eq(body_object(&r, "application/json", scalars[i], &o), -1);
		ck_assert_msg(r.status == 422, "[%s] gave %d", scalars[i], r.status);
		ck_assert_ptr_null(o);
		ck_assert_ptr_nonnull(detail_arr(&r));
		req_free(&r);
	}
}
END_TEST

START_TEST(test_body_object_ok)
{
	struct yq_req r;
	json_object *o = NULL;

	ck_assert_int_eq(body_object(&r, "application/json; charset=utf-8",
	                             " {\"name\": \"x\", \"n\": 1}\n", &o),
	                 0);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_int_eq(json_object_object_length(o), 2);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_null(r.resp);
	json_object_put(o);
	req_free(&r);
}
END_TEST

/* ---- typed body members ---- */

static json_object *
obj(const char *json)
{
	json_object *o = json_tokener_parse(json);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(test_body_int_type_checks)
{
	struct yq_req r;
	json_object *o = obj("{\"f\": 1.5, \"s\": \"1\", \"b\": true, \"ok\": 5, \"z\": null}");
	long long v = -1;

	req_init(&r);
	ck_assert(!yq_body_int(&r, o, "f", true, 0, 10, &v));
	check_entry(pending(&r, 0), "body", "f", "int_type");
	ck_assert(!yq_body_int(&r, o, "s", true, 0, 10, &v));
	check_entry(pending(&r, 1), "body", "s", "int_type");
	ck_assert(!yq_body_int(&r, o, "b", false, 0, 10, &v));
	check_entry(pending(&r, 2), "body", "b", "int_type");
	ck_assert_int_eq(v, -1);
	ck_assert(yq_body_int(&r, o, "ok", true, 0, 10, &v));
	ck_assert_int_eq(v, 5);
	ck_assert_uint_eq(json_object_array_length(r.errors), 3);

	/* null: an error when required, nothing when optional */
	ck_assert(!yq_body_int(&r, o, "z", false, 0, 10, &v));
	ck_assert_uint_eq(json_object_array_length(r.errors), 3);
	ck_assert(!yq_body_int(&r, o, "z", true, 0, 10, &v));
	ck_assert_uint_eq(json_object_array_length(r.errors), 4);

	ck_assert_int_eq(yq_http_invalid_done(&r), -1);
	ck_assert_int_eq(r.status, 422);
	ck_assert_uint_eq(json_object_array_length(detail_arr(&r)), 4);
	json_object_put(o);
	req_free(&r);
}
END_TEST

START_TEST(test_body_int_range)
{
	struct yq_req r;
	json_object *o = obj("{\"lo\": 1, \"hi\": 11, \"min\": 2, \"max\": 10}");
	long long v = 0;

	req_init(&r);
	ck_assert(!yq_body_int(&r, o, "lo", true, 2, 10, &v));
	check_entry(pending(&r, 0), "body", "lo", "greater_than_equal");
	ck_assert(!yq_body_int(&r, o, "hi", true, 2, 10, &v));
	check_entry(pending(&r, 1), "body", "hi", "less_than_equal");
	ck_assert(yq_body_int(&r, o, "min", true, 2, 10, &v));
	ck_assert_int_eq(v, 2);
	ck_assert(yq_body_int(&r, o, "max", true, 2, 10, &v));
	ck_assert_int_eq(v, 10);
	ck_assert_uint_eq(json_object_array_length(r.errors), 2);
	json_object_put(o);
	req_free(&r);
}
END_TEST

START_TEST(test_body_str_utf8_lengths)
{
	struct yq_req r;
	json_object *o =
	        obj("{\"three\": \"\xc3\xa9\xc3\xa9\xc3\xa9\", \"two\": \"\xc3\xa9\xc3\xa9\", "
	            "\"four\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\", \"cjk\": \"\xe4\xb8\x80\"}");
	size_t len = 0;

	req_init(&r);
	/* "ééé" is 6 bytes but 3 characters */
	const char *s = yq_body_str(&r, o, "three", true, 3, 3, &len);
	ck_assert_pstr_eq(s, "\xc3\xa9\xc3\xa9\xc3\xa9");
	ck_assert_uint_eq(len, 6);
	ck_assert_ptr_null(r.errors);

	ck_assert_ptr_nonnull(yq_body_str(&r, o, "cjk", true, 1, 1, NULL));
	ck_assert_ptr_null(r.errors);

	ck_assert_ptr_null(yq_body_str(&r, o, "two", true, 3, 3, &len));
	check_entry(pending(&r, 0), "body", "two", "string_too_short");
	ck_assert_ptr_null(yq_body_str(&r, o, "four", true, 3, 3, &len));
	check_entry(pending(&r, 1), "body", "four", "string_too_long");
	json_object_put(o);
	req_free(&r);
}
END_TEST

START_TEST(test_body_str_type_and_presence)
{
	struct yq_req r;
	json_object *o = obj("{\"n\": 123, \"a\": [\"x\"], \"z\": null}");

	req_init(&r);
	ck_assert_ptr_null(yq_body_str(&r, o, "n", true, 0, 10, NULL));
	check_entry(pending(&r, 0), "body", "n", "string_type");
	ck_assert_ptr_null(yq_body_str(&r, o, "a", false, 0, 10, NULL));
	check_entry(pending(&r, 1), "body", "a", "string_type");
	ck_assert_ptr_null(yq_body_str(&r, o, "name", true, 0, 10, NULL));
	check_entry(pending(&r, 2), "body", "name", "missing");
	ck_assert_pstr_eq(str_member(pending(&r, 2), "msg"), "Field required");
	ck_assert_uint_eq(json_object_array_length(r.errors), 3);
	req_free(&r);

	/* missing or null optional members record nothing */
	req_init(&r);
	ck_assert_ptr_null(yq_body_str(&r, o, "avatar_url", false, 0, 10, NULL));
	ck_assert_ptr_null(yq_body_str(&r, o, "z", false, 0, 10, NULL));
	long long v;
	ck_assert(!yq_body_int(&r, o, "missing_int", false, 0, 1, &v));
	bool b;
	ck_assert(!yq_body_bool(&r, o, "missing_bool", false, &b));
	ck_assert_ptr_null(r.errors);
	ck_assert_int_eq(yq_http_invalid_done(&r), 0);
	json_object_put(o);
	req_free(&r);
}
END_TEST

START_TEST(test_body_bool)
{
	struct yq_req r;
	json_object *o = obj("{\"t\": true, \"f\": false, \"one\": 1, \"s\": \"true\"}");
	bool b = false;

	req_init(&r);
	ck_assert(yq_body_bool(&r, o, "t", true, &b));
	ck_assert(b);
	ck_assert(yq_body_bool(&r, o, "f", true, &b));
	ck_assert(!b);
	ck_assert_ptr_null(r.errors);
	ck_assert(!yq_body_bool(&r, o, "one", true, &b));
	check_entry(pending(&r, 0), "body", "one", "bool_type");
	ck_assert(!yq_body_bool(&r, o, "s", false, &b));
	check_entry(pending(&r, 1), "body", "s", "bool_type");
	ck_assert(!yq_body_bool(&r, o, "absent", true, &b));
	check_entry(pending(&r, 2), "body", "absent", "missing");
	json_object_put(o);
	req_free(&r);
}
END_TEST

/* ---- ?limit= ---- */

static bool
limit_of(struct yq_req *r, const char *qs, long long *limit)
{
	req_init(r);
	ck_assert_int_eq(yq_form_parse(&r->query, qs, strlen(qs)), 0);
	return yq_query_limit(r, limit);
}

START_TEST(test_query_limit)
{
	struct yq_req r;
	long long limit = 0;

	ck_assert(limit_of(&r, "", &limit));
	ck_assert_int_eq(limit, 20);
	req_free(&r);
	ck_assert(limit_of(&r, "cursor=abc&limit=100", &limit));
	ck_assert_int_eq(limit, 100);
	req_free(&r);
	ck_assert(limit_of(&r, "limit=1", &limit));
	ck_assert_int_eq(limit, 1);
	req_free(&r);

	static const char *const bad[] = { "limit=0", "limit=101", "limit=abc",
		                           "limit=",  "limit=-5",  "limit=5x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!limit_of(&r, bad[i], &limit), "accepted %s", bad[i]);
		check_entry(pending(&r, 0), "query", "limit", "int_parsing");
		req_free(&r);
	}
}
END_TEST

/* yq_query_parse: every value well-formed UTF-8 or a 422 for its name
 * (defect 4); a name that is not UTF-8, or a malformed form, is a 400. */
START_TEST(test_query_parse_utf8)
{
	struct yq_req r;
	static const char *const good[] = { "", "q=abc&limit=5", "q=%E4%B8%AD%F0%9F%98%80",
		                            "q=%F4%8F%BF%BF", "a&b=&c=%C3%A9" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		req_init(&r);
		ck_assert_int_eq(yq_query_parse(&r, good[i], strlen(good[i])), 0);
		ck_assert_msg(r.errors == NULL, "%s has errors", good[i]);
		req_free(&r);
	}
	static const char *const bad[] = { "q=%FF",    "q=%C3",          "q=%ED%A0%80",
		                           "q=%C0%AF", "q=%F4%90%80%80", "q=%E4%B8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&r);
		ck_assert_int_eq(yq_query_parse(&r, bad[i], strlen(bad[i])), 0);
		check_entry(pending(&r, 0), "query", "q", "string_unicode");
		req_free(&r);
	}
	static const char *const malformed[] = { "%FF=1", "q=%0", "q=%00", "a=%GG" };
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		req_init(&r);
		ck_assert_int_eq(yq_query_parse(&r, malformed[i], strlen(malformed[i])), -1);
		ck_assert_int_eq(r.status, 400);
		req_free(&r);
	}
}
END_TEST

/* Id cursors: only the base64url of a positive decimal int64. */
START_TEST(test_query_cursor_shapes)
{
	struct yq_req r;
	long long id;
	static const struct {
		const char *qs;
		long long id;
	} good[] = { { "cursor=MTA", 10 },
		     { "cursor=OTIyMzM3MjAzNjg1NDc3NTgwNw", 9223372036854775807LL },
		     { "cursor=", 0 },
		     { "", 0 } };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		req_init(&r);
		ck_assert_int_eq(yq_form_parse(&r.query, good[i].qs, strlen(good[i].qs)), 0);
		ck_assert_msg(yq_query_cursor(&r, &id), "refused %s", good[i].qs);
		ck_assert_int_eq(id, good[i].id);
		req_free(&r);
	}
	/* 9223372036854775808, 0, -1, "ü", "1 ", "!!", "MTA=" (padding) */
	static const char *const bad[] = { "cursor=OTIyMzM3MjAzNjg1NDc3NTgwOA",
		                           "cursor=MA",
		                           "cursor=LTE",
		                           "cursor=w7w",
		                           "cursor=MSA",
		                           "cursor=!!",
		                           "cursor=MTA%3D" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&r);
		ck_assert_int_eq(yq_form_parse(&r.query, bad[i], strlen(bad[i])), 0);
		ck_assert_msg(!yq_query_cursor(&r, &id), "accepted %s", bad[i]);
		check_entry(pending(&r, 0), "query", "cursor", "value_error");
		req_free(&r);
	}
}
END_TEST

/* Integers outside int64 and lone surrogates: 422 at ["body"]. */
START_TEST(test_body_object_refusals_422)
{
	static const struct {
		const char *body, *type;
	} cases[] = { { "{\"n\": 9223372036854775808}", "int_parsing_size" },
		      { "{\"n\": -9223372036854775809}", "int_parsing_size" },
		      { "{\"s\": \"\\ud800\"}", "string_unicode" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct yq_req r;
		json_object *o;
		req_init(&r);
		r.content_type = "application/json";
		r.body = (char *)cases[i].body;
		r.body_len = strlen(cases[i].body);
		ck_assert_int_eq(yq_http_body_object(&r, &o), -1);
		ck_assert_int_eq(r.status, 422);
		json_object *d = detail_arr(&r);
		ck_assert_ptr_nonnull(d);
		check_entry(json_object_array_get_idx(d, 0), "body", NULL, cases[i].type);
		req_free(&r);
	}
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("form");

	tcase_add_test(tc, test_form_plus_and_escapes);
	tcase_add_test(tc, test_form_does_not_modify_input);
	tcase_add_test(tc, test_form_bad_escapes);
	tcase_add_test(tc, test_form_raw_nul);
	tcase_add_test(tc, test_form_empty_pairs_and_bare_keys);
	tcase_add_test(tc, test_form_max_params);
	tcase_add_test(tc, test_form_first_repeated_key_wins);
	tcase_add_test(tc, test_media_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_http_error);
	tcase_add_test(tc, test_http_invalid_422_shape);
	tcase_add_test(tc, test_http_fail_db_down);
	tcase_add_test(tc, test_http_fail_mapping);
	tcase_add_test(tc, test_body_object_not_json_415);
	tcase_add_test(tc, test_body_object_malformed_400);
	tcase_add_test(tc, test_body_object_non_object_422);
	tcase_add_test(tc, test_body_object_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, test_body_int_type_checks);
	tcase_add_test(tc, test_body_int_range);
	tcase_add_test(tc, test_body_str_utf8_lengths);
	tcase_add_test(tc, test_body_str_type_and_presence);
	tcase_add_test(tc, test_body_bool);
	tcase_add_test(tc, test_query_limit);
	tcase_add_test(tc, test_query_parse_utf8);
	tcase_add_test(tc, test_query_cursor_shapes);
	tcase_add_test(tc, test_body_object_refusals_422);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
