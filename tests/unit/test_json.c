/*
 * test_json.c - unit tests for src/core/json.c.
 *
 * yq_json_parse must accept exactly one JSON value (objects, arrays, with
 * surrounding whitespace) and reject what SPEC §1 calls malformed: empty
 * input, trailing garbage, NUL bytes raw or escaped (in values and keys),
 * nesting deeper than YQ_JSON_MAX_DEPTH (32 levels are fine, 33 are not),
 * invalid UTF-8, single quotes, trailing commas, NaN.  A top-level null is
 * NULL with no reason; bare scalars parse with or without trailing space.
 * yq_json_field must tell missing, null, wrong type and ok apart without
 * json-c's coercions (1.0, "1" and true are not integers).  The small
 * builders (yq_json_add_*, yq_json_str) are checked for their output.
 *
 * The "lenient_json_c" case covers what json-c's strict mode lets through
 * and json.c's lexical pass must refuse: among them integers outside int64
 * (which json-c clamps) and lone surrogate escapes (which it replaces),
 * each with its own reason (yq_json_err_int_range, yq_json_err_surrogate).
 */
#include "config.h"

#include "core/json.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse s (strlen bytes); returns the object or NULL, why in *why. */
static json_object *
parse(const char *s, const char **why)
{
	*why = NULL;
	return yq_json_parse(s, strlen(s), why);
}

static void
assert_accepts(const char *s, json_type type)
{
	const char *why;
	json_object *o = parse(s, &why);

	ck_assert_msg(o != NULL, "rejected [%s]: %s", s, why ? why : "(no reason)");
	ck_assert_msg(json_object_is_type(o, type), "[%s] parsed as type %d", s,
	              (int)json_object_get_type(o));
	json_object_put(o);
}

static void
assert_rejects_n(const char *s, size_t len)
{
	const char *why = NULL;
	json_object *o = yq_json_parse(s, len, &why);

	ck_assert_msg(o == NULL, "accepted [%.*s]", (int)len, s);
	ck_assert_msg(why != NULL && *why, "no reason given for [%.*s]", (int)len, s);
}

static void
assert_rejects(const char *s)
{
	assert_rejects_n(s, strlen(s));
}

/* n nested objects {"a":{"a":...{"a":leaf}...}}; caller frees. */
static char *
nested_objects(int n, const char *leaf)
{
	size_t cap = (size_t)n * 6 + strlen(leaf) + 1;
	char *buf = malloc(cap);
	size_t p = 0;

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < n; i++) {
		memcpy(buf + p, "{\"a\":", 5);
		p += 5;
	}
	memcpy(buf + p, leaf, strlen(leaf));
	p += strlen(leaf);
	memset(buf + p, '}', (size_t)n);
	p += (size_t)n;
	buf[p] = '\0';
	return buf;
}

/* n nested arrays [[...[leaf]...]]; caller frees. */
static char *
nested_arrays(int n, const char *leaf)
{
	size_t cap = (size_t)n * 2 + strlen(leaf) + 1;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	memset(buf, '[', (size_t)n);
	memcpy(buf + n, leaf, strlen(leaf));
	memset(buf + n + strlen(leaf), ']', (size_t)n);
	buf[cap - 1] = '\0';
	return buf;
}

START_TEST(test_accepts_objects_and_arrays)
{
	assert_accepts("{}", json_type_object);
	assert_accepts("[]", json_type_array);
	assert_accepts("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", json_type_object);
	assert_accepts("[1,-2,3.5,1e3,\"x\"]", json_type_array);
	assert_accepts(" \t\r\n{\"a\": 1}\n\t ", json_type_object);
	assert_accepts("\n[1]\r\n", json_type_array);
	assert_accepts("{\"s\":\"\\u00e9\\n\\\"\\\\\"}", json_type_object);
	assert_accepts("{\"s\":\"\xe4\xb8\x80\xf0\x9f\x98\x80\"}", json_type_object);

	const char *why;
	json_object *o = parse("{\"a\": {\"b\": [1, 2]}}", &why);
	ck_assert_ptr_nonnull(o);
	json_object *a, *b;
	ck_assert(json_object_object_get_ex(o, "a", &a));
	ck_assert(json_object_object_get_ex(a, "b", &b));
	ck_assert_uint_eq(json_object_array_length(b), 2);
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(b, 1)), 2);
	json_object_put(o);
}
END_TEST

START_TEST(test_parses_only_len_bytes)
{
	const char *why;
	/* the buffer goes on, but only the first 7 bytes are the body */
	json_object *o = yq_json_parse("{\"a\":1}garbage", 7, &why);

	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

START_TEST(test_rejects_empty)
{
	assert_rejects_n("", 0);
	assert_rejects_n("{}", 0);
	assert_rejects("   ");
	assert_rejects("\n");
}
END_TEST

START_TEST(test_rejects_trailing_garbage)
{
	assert_rejects("{} x");
	assert_rejects("{}{}");
	assert_rejects("[1] [2]");
	assert_rejects("{\"a\":1}}");
	assert_rejects("{\"a\":1},");
	assert_rejects("[]\n\x01");
}
END_TEST

START_TEST(test_rejects_truncated)
{
	assert_rejects("{");
	assert_rejects("{\"a\":");
	assert_rejects("[1,2");
	assert_rejects("{\"a\":\"x");
}
END_TEST

START_TEST(test_rejects_raw_nul)
{
	static const char v[] = "{\"a\":\"x\0y\"}";
	static const char k[] = "{\"a\0b\":1}";
	static const char after[] = "{\"a\":1}\0";

	assert_rejects_n(v, sizeof(v) - 1);
	assert_rejects_n(k, sizeof(k) - 1);
	assert_rejects_n(after, sizeof(after) - 1);
}
END_TEST

START_TEST(test_rejects_escaped_nul)
{
	assert_rejects("{\"a\":\"\\u0000\"}");
	assert_rejects("{\"a\":\"abc\\u0000def\"}");
	assert_rejects("[\"\\u0000\"]");
	assert_rejects("{\"a\\u0000b\":1}");
	assert_rejects("{\"\\u0000\":1}");

	/* an escaped backslash followed by "u0000" is six ordinary chars */
	const char *why;
	json_object *o = parse("{\"a\":\"\\\\u0000\"}", &why);
	ck_assert_ptr_nonnull(o);
	json_object *a;
	ck_assert(json_object_object_get_ex(o, "a", &a));
	ck_assert_str_eq(json_object_get_string(a), "\\u0000");
	json_object_put(o);
	/* other escapes of control characters are fine */
	assert_accepts("{\"a\":\"\\u0001\\u001f\"}", json_type_object);
}
END_TEST

/* json-c counts a depth level for every value it descends into, leaves
 * included.  The limit is the SPEC's "nesting deeper than 32": these are
 * the cases the implementation gets right today; see
 * test_depth_32_with_leaf_accepted for the one it does not. */
START_TEST(test_depth_limit)
{
	char *s;

	/* well inside the limit */
	s = nested_objects(31, "1");
	assert_accepts(s, json_type_object);
	free(s);
	s = nested_arrays(31, "1");
	assert_accepts(s, json_type_array);
	free(s);
	/* 32 levels of containers */
	s = nested_arrays(32, "");
	assert_accepts(s, json_type_array);
	free(s);
	/* 33 levels: rejected, whatever the leaf */
	s = nested_objects(33, "1");
	assert_rejects(s);
	free(s);
	s = nested_objects(33, "{}");
	assert_rejects(s);
	free(s);
	s = nested_arrays(33, "");
	assert_rejects(s);
	free(s);
	s = nested_arrays(33, "1");
	assert_rejects(s);
	free(s);
	/* far beyond: still a clean rejection, no stack exhaustion */
	s = nested_arrays(100000, "");
	assert_rejects(s);
	free(s);

	const char *why;
	s = nested_arrays(40, "");
	ck_assert_ptr_null(parse(s, &why));
	ck_assert_str_eq(why, "JSON nested too deeply");
	free(s);
}
END_TEST

START_TEST(test_rejects_invalid_utf8)
{
	assert_rejects("{\"a\":\"\xff\"}");
	assert_rejects("{\"a\":\"\xfe\xff\"}");
	assert_rejects("{\"a\":\"\x80\"}");     /* lone continuation byte */
	assert_rejects("{\"a\":\"\xe2\x82\"}"); /* truncated sequence */
	assert_rejects("{\"a\":\"\xc3\"}");
	assert_rejects("{\"\xff\":1}"); /* in a key */
}
END_TEST

START_TEST(test_rejects_single_quoted_values)
{
	assert_rejects("{\"a\":'x'}");
	assert_rejects("['x']");
}
END_TEST

START_TEST(test_rejects_trailing_commas)
{
	assert_rejects("[1,]");
	assert_rejects("{\"a\":1,}");
	assert_rejects("[,1]");
	assert_rejects("{,}");
}
END_TEST

START_TEST(test_rejects_non_json_literals)
{
	assert_rejects("[nan]");
	assert_rejects("[True]");
	assert_rejects("[undefined]");
	assert_rejects("[0x10]");
	assert_rejects("[01]");
	assert_rejects("[+1]");
	assert_rejects("[.5]");
	assert_rejects("[1 /* c */]");
	assert_rejects("{a:1}");
}
END_TEST

/* A top-level null is valid JSON but no value: NULL with *why NULL,
 * which callers tell apart from a parse error. */
START_TEST(test_top_level_null)
{
	static const char *const nulls[] = { "null", "null ", " null\n" };
	const char *why;

	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		why = "unset";
		ck_assert_ptr_null(yq_json_parse(nulls[i], strlen(nulls[i]), &why));
		ck_assert_msg(why == NULL, "[%s] gave reason %s", nulls[i], why);
	}
	assert_rejects("nul");
	assert_rejects("null null");
	assert_rejects("nullx");
	assert_rejects("Null");
}
END_TEST

/* Bare scalars parse whether or not whitespace follows them. */
START_TEST(test_top_level_scalars)
{
	assert_accepts("12", json_type_int);
	assert_accepts("12 ", json_type_int);
	assert_accepts("-1.5", json_type_double);
	assert_accepts("true", json_type_boolean);
	assert_accepts("false\n", json_type_boolean);
	assert_accepts("\"s\"", json_type_string);
	assert_rejects("12 13");
	assert_rejects("12x");
	assert_rejects("true false");
	assert_rejects("tru");
	assert_rejects("-");
	assert_rejects("\"abc");
}
END_TEST

START_TEST(test_field_lookup)
{
	const char *why;
	json_object *o = parse("{\"i\":1,\"d\":1.0,\"s\":\"1\",\"t\":true,\"n\":null,"
	                       "\"big\":9007199254740993,\"neg\":-5,\"o\":{},\"a\":[]}",
	                       &why);
	json_object *v = o; /* any non-NULL: must be reset */

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(yq_json_field(o, "missing", json_type_int, &v), YQ_JF_MISSING);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(yq_json_field(o, "n", json_type_int, &v), YQ_JF_NULL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(yq_json_field(o, "d", json_type_int, &v), YQ_JF_TYPE);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(yq_json_field(o, "s", json_type_int, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "t", json_type_int, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "i", json_type_string, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "i", json_type_boolean, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "o", json_type_array, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "a", json_type_object, &v), YQ_JF_TYPE);

	ck_assert_int_eq(yq_json_field(o, "i", json_type_int, &v), YQ_JF_OK);
	ck_assert_int_eq(json_object_get_int64(v), 1);
	ck_assert_int_eq(yq_json_field(o, "big", json_type_int, &v), YQ_JF_OK);
	ck_assert_int_eq(json_object_get_int64(v), 9007199254740993LL);
	ck_assert_int_eq(yq_json_field(o, "neg", json_type_int, &v), YQ_JF_OK);
	ck_assert_int_eq(json_object_get_int64(v), -5);
	ck_assert_int_eq(yq_json_field(o, "d", json_type_double, &v), YQ_JF_OK);
	ck_assert_int_eq(yq_json_field(o, "s", json_type_string, &v), YQ_JF_OK);
	ck_assert_str_eq(json_object_get_string(v), "1");
	ck_assert_int_eq(yq_json_field(o, "t", json_type_boolean, &v), YQ_JF_OK);
	ck_assert_int_eq(yq_json_field(o, "o", json_type_object, &v), YQ_JF_OK);
	ck_assert_int_eq(yq_json_field(o, "a", json_type_array, &v), YQ_JF_OK);

	/* not an object at all: nothing is there */
	json_object *arr = parse("[1]", &why);
	ck_assert_int_eq(yq_json_field(arr, "0", json_type_int, &v), YQ_JF_MISSING);
	ck_assert_int_eq(yq_json_field(NULL, "i", json_type_int, &v), YQ_JF_MISSING);
	json_object_put(arr);
	json_object_put(o);
}
END_TEST

START_TEST(test_builders_and_str)
{
	json_object *o = json_object_new_object();
	size_t len = 0;

	yq_json_add_str(o, "url", "http://x/y");
	yq_json_add_str(o, "none", NULL);
	yq_json_add_int(o, "id", 9007199254740993LL);
	yq_json_add_bool(o, "ok", true);
	const char *s = yq_json_str(o, &len);
	ck_assert_str_eq(s, "{\"url\":\"http://x/y\",\"none\":null,\"id\":9007199254740993,"
	                    "\"ok\":true}");
	ck_assert_uint_eq(len, strlen(s));

	/* and it reads back through the strict parser */
	const char *why;
	json_object *back = yq_json_parse(s, len, &why);
	ck_assert_ptr_nonnull(back);
	json_object *v;
	ck_assert_int_eq(yq_json_field(back, "none", json_type_string, &v), YQ_JF_NULL);
	ck_assert_int_eq(yq_json_field(back, "id", json_type_int, &v), YQ_JF_OK);
	json_object_put(back);
	json_object_put(o);
}
END_TEST

/* ---- json-c leniencies that json.c closes ---- */

/* SPEC §1: 400 for "nesting deeper than 32", so 32 levels must parse,
 * even though json-c counts the leaf value as a level too. */
START_TEST(test_depth_32_with_leaf_accepted)
{
	char *s = nested_objects(32, "1");

	assert_accepts(s, json_type_object);
	free(s);
	s = nested_arrays(32, "\"x\"");
	assert_accepts(s, json_type_array);
	free(s);
}
END_TEST

/* NaN and Infinity are not JSON; json-c accepts them even with
 * JSON_TOKENER_STRICT. */
START_TEST(test_rejects_nan_and_infinity)
{
	assert_rejects("[NaN]");
	assert_rejects("{\"a\":NaN}");
	assert_rejects("[Infinity]");
	assert_rejects("[-Infinity]");
}
END_TEST

/* json-c's strict mode still takes single-quoted object keys. */
START_TEST(test_rejects_single_quoted_keys)
{
	assert_rejects("{'a':1}");
}
END_TEST

/* UTF-8 that JSON_TOKENER_VALIDATE_UTF8 lets through: overlong forms,
 * UTF-16 surrogates, code points past U+10FFFF (RFC 3629 forbids all). */
START_TEST(test_rejects_subtly_invalid_utf8)
{
	assert_rejects("{\"a\":\"\xc0\xaf\"}");
	assert_rejects("{\"a\":\"\xed\xa0\x80\"}");
	assert_rejects("{\"a\":\"\xf4\x90\x80\x80\"}");
}
END_TEST

/* RFC 8259 §7: control characters must be escaped inside strings. */
START_TEST(test_rejects_raw_control_chars)
{
	assert_rejects("{\"a\":\"x\ny\"}");
	assert_rejects("{\"a\":\"\x01\"}");
}
END_TEST

/* RFC 8259 §6: a fraction needs at least one digit after the dot. */
START_TEST(test_rejects_number_with_bare_dot)
{
	assert_rejects("[1.]");
	assert_rejects("{\"a\":1.}");
}
END_TEST

/* Defect 8: json-c turns 9223372036854775808 into a uint64 that
 * json_object_get_int64() clamps to INT64_MAX, and fails (strict) past
 * UINT64_MAX; every integer literal outside int64 gets one named reason. */
START_TEST(test_integers_beyond_int64)
{
	static const char *const out[] = {
		"[9223372036854775808]",
		"[-9223372036854775809]",
		"[18446744073709551615]",
		"[18446744073709551616]",
		"{\"a\":99999999999999999999999999}",
		"{\"a\":[1,2,-100000000000000000000]}",
		"9223372036854775808",
		"[00000000000000000000009223372036854775808]",
	};
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		const char *why = NULL;
		json_object *o = parse(out[i], &why);
		ck_assert_msg(o == NULL, "accepted %s", out[i]);
		ck_assert_msg(why == yq_json_err_int_range, "%s: %s", out[i], why);
	}
	const char *why;
	json_object *o =
	        parse("[9223372036854775807,-9223372036854775808,0,-0,1e30,1.5e300]", &why);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(o, 0)), INT64_MAX);
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(o, 1)), INT64_MIN);
	ck_assert(json_object_is_type(json_object_array_get_idx(o, 4), json_type_double));
	json_object_put(o);
	/* an exponent's digits are no integer of their own */
	o = parse("[1e99999999999999999999]", &why);
	ck_assert_msg(o == NULL || why != yq_json_err_int_range, "exponent taken for an int");
	json_object_put(o);
}
END_TEST

/* Floats are no integers, whatever their value. */
START_TEST(test_floats_are_not_ints)
{
	static const char *const in[] = { "{\"n\":1.0}", "{\"n\":1e3}", "{\"n\":-0.0}",
		                          "{\"n\":2E1}" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *why;
		json_object *o = parse(in[i], &why), *v;
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(yq_json_field(o, "n", json_type_int, &v), YQ_JF_TYPE);
		json_object_put(o);
	}
}
END_TEST

/* A json-c uint64 above INT64_MAX is no int64 for yq_json_field. */
START_TEST(test_field_refuses_uint64)
{
	json_object *o = json_object_new_object(), *v;

	json_object_object_add(o, "big", json_object_new_uint64((uint64_t)INT64_MAX + 1));
	json_object_object_add(o, "max", json_object_new_uint64((uint64_t)INT64_MAX));
	ck_assert_int_eq(yq_json_field(o, "big", json_type_int, &v), YQ_JF_TYPE);
	ck_assert_int_eq(yq_json_field(o, "max", json_type_int, &v), YQ_JF_OK);
	json_object_put(o);
}
END_TEST

/* A lone surrogate escape is refused by name (json-c would put U+FFFD in
 * its place); a proper pair is one character. */
START_TEST(test_lone_surrogate_escapes)
{
	static const char *const bad[] = {
		"[\"\\ud800\"]",   "[\"\\uDBFF\"]",        "[\"\\udc00\"]",
		"[\"a\\ud800b\"]", "[\"\\ud800\\u0041\"]", "[\"\\ud800\\ud800\"]",
		"{\"\\ud83d\":1}", "[\"\\ud83d\\n\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		json_object *o = parse(bad[i], &why);
		ck_assert_msg(o == NULL, "accepted %s", bad[i]);
		ck_assert_msg(why == yq_json_err_surrogate, "%s: %s", bad[i], why);
	}
	const char *why;
	json_object *o = parse("[\"\\ud83d\\ude00\",\"\\uD83D\\uDE00x\"]", &why);
	ck_assert_msg(o != NULL, "pair refused: %s", why);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 0)),
	                 "\xf0\x9f\x98\x80");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 1)),
	                 "\xf0\x9f\x98\x80x");
	json_object_put(o);
	assert_rejects("[\"\\u12\"]");
	assert_rejects("[\"\\u12G4\"]");
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_accepts_objects_and_arrays);
	tcase_add_test(tc, test_parses_only_len_bytes);
	tcase_add_test(tc, test_rejects_empty);
	tcase_add_test(tc, test_rejects_trailing_garbage);
	tcase_add_test(tc, test_rejects_truncated);
	tcase_add_test(tc, test_rejects_raw_nul);
	tcase_add_test(tc, test_rejects_escaped_nul);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_rejects_invalid_utf8);
	tcase_add_test(tc, test_rejects_single_quoted_values);
	tcase_add_test(tc, test_rejects_trailing_commas);
	tcase_add_test(tc, test_rejects_non_json_literals);
	tcase_add_test(tc, test_top_level_null);
	tcase_add_test(tc, test_top_level_scalars);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, test_field_lookup);
	tcase_add_test(tc, test_builders_and_str);
	suite_add_tcase(s, tc);

	{
		tc = tcase_create("lenient_json_c");
		tcase_add_test(tc, test_depth_32_with_leaf_accepted);
		tcase_add_test(tc, test_rejects_nan_and_infinity);
		tcase_add_test(tc, test_rejects_single_quoted_keys);
		tcase_add_test(tc, test_rejects_subtly_invalid_utf8);
		tcase_add_test(tc, test_rejects_raw_control_chars);
		tcase_add_test(tc, test_rejects_number_with_bare_dot);
		tcase_add_test(tc, test_integers_beyond_int64);
		tcase_add_test(tc, test_floats_are_not_ints);
		tcase_add_test(tc, test_field_refuses_uint64);
		tcase_add_test(tc, test_lone_surrogate_escapes);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
