/*
 * test_openapi.c - doc/openapi.json cannot drift from the route table.
 *
 * Loads the committed OpenAPI document (json-c) and checks it against the
 * real yq_routes of src/api/routes.c and the real router:
 *   - it is OpenAPI 3.1 and every "$ref" in it points at something;
 *   - every route has an operation with the same method and path template
 *     (parameter names aside: the table says "{id}", the document names
 *     them), and every operation of the document is a route;
 *   - a concrete path made from each template (ids = 7) dispatches through
 *     yq_route_match() to that very route;
 *   - each path parameter of a template is declared (in: path, required);
 *   - operations of YQ_ROUTE_AUTH routes name a security scheme and a 401,
 *     the others have "security": [] (so Swagger sends no token there);
 *   - operationIds are unique, every operation answers something.
 */
#include "config.h"

#include "api/handlers.h"

#include <check.h>
#include <ctype.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHODS[] = { "get", "put", "post", "delete", "patch", "head", "options" };
#define NMETHODS (sizeof(METHODS) / sizeof(METHODS[0]))

static json_object *doc;

static void
load(void)
{
	doc = json_object_from_file(YQ_OPENAPI_PATH);
	if (!doc) {
		fprintf(stderr, "%s: %s\n", YQ_OPENAPI_PATH, json_util_get_last_err());
		abort();
	}
}

static void
unload(void)
{
	json_object_put(doc);
	doc = NULL;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* "/rooms/{room_id}/members/{user_id}" -> "/rooms/{id}/members/{id}" */
static void
normalise(const char *tmpl, char *out, size_t outsz)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 5 < outsz; p++) {
		if (*p == '{') {
			const char *end = strchr(p, '}');
			ck_assert_msg(end != NULL, "unclosed parameter in %s", tmpl);
			memcpy(out + n, "{id}", 4);
			n += 4;
			p = end;
		} else {
			out[n++] = *p;
		}
	}
	ck_assert_msg(n + 5 < outsz, "path too long: %s", tmpl);
	out[n] = '\0';
}

/* "/rooms/{room_id}/x" -> "/rooms/7/x" */
static void
concrete(const char *tmpl, char *out, size_t outsz)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 2 < outsz; p++) {
		if (*p == '{') {
			p = strchr(p, '}');
			out[n++] = '7';
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void
lower(const char *in, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

/* The operation of the document for a route, or NULL. */
static json_object *
operation_for(const struct yq_route *rt)
{
	char want[256], have[256], m[16];
	// cppcheck-suppress unreadVariable ; read by json_object_object_foreach
	json_object *paths = get(doc, "paths");

	lower(rt->method, m, sizeof(m));
	json_object_object_foreach (paths, path, item) {
		normalise(path, have, sizeof(have));
		normalise(rt->pattern, want, sizeof(want));
		if (strcmp(have, want) == 0)
			return get(item, m);
	}
	return NULL;
}

static const struct yq_route *
route_for(const char *method, const char *path)
{
	char want[256], have[256];

	normalise(path, want, sizeof(want));
	for (size_t i = 0; i < yq_nroutes; i++) {
		normalise(yq_routes[i].pattern, have, sizeof(have));
		if (strcasecmp(yq_routes[i].method, method) == 0 && strcmp(have, want) == 0)
			return &yq_routes[i];
	}
	return NULL;
}

/* Follows "#/a/b/c" from the document's root. */
static json_object *
resolve(const char *ref)
{
	char buf[256], *save = NULL;
	json_object *o = doc;

	if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof(buf))
		return NULL;
	memcpy(buf, ref + 2, strlen(ref + 2) + 1); /* length checked above */
	for (char *k = strtok_r(buf, "/", &save); k && o; k = strtok_r(NULL, "/", &save))
		o = get(o, k);
	return o;
}

static json_object *
deref(json_object *o)
{
	json_object *ref = get(o, "$ref");

	return ref ? resolve(json_object_get_string(ref)) : o;
}

static unsigned
count_refs(json_object *o, unsigned *bad)
{
	unsigned n = 0;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += count_refs(json_object_array_get_idx(o, i), bad);
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach (o, key, val) {
			if (strcmp(key, "$ref") == 0 &&
			    json_object_is_type(val, json_type_string)) {
				n++;
				if (!resolve(json_object_get_string(val))) {
					fprintf(stderr, "unresolved $ref %s\n",
					        json_object_get_string(val));
					(*bad)++;
				}
			} else {
				n += count_refs(val, bad);
			}
		}
	}
	return n;
}

START_TEST(test_is_openapi_3_1)
{
	json_object *v = get(doc, "openapi");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_object_get_string(v), "3.1.0");
	ck_assert_ptr_nonnull(get(get(doc, "info"), "title"));
	ck_assert_ptr_nonnull(get(get(doc, "info"), "version"));
	ck_assert_ptr_nonnull(get(get(get(doc, "components"), "securitySchemes"), "bearer"));
	v = get(get(get(doc, "components"), "securitySchemes"), "password");
	ck_assert_str_eq(json_object_get_string(get(get(get(v, "flows"), "password"), "tokenUrl")),
	                 "/api/token");
	v = json_object_array_get_idx(get(doc, "servers"), 0);
	ck_assert_str_eq(json_object_get_string(get(v, "url")), "/api");
}
END_TEST

START_TEST(test_every_ref_resolves)
{
	unsigned bad = 0, n = count_refs(doc, &bad);
	ck_assert_uint_gt(n, 100);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_every_route_is_documented)
{
	ck_assert_uint_gt(yq_nroutes, 30);
	for (size_t i = 0; i < yq_nroutes; i++)
		ck_assert_msg(operation_for(&yq_routes[i]) != NULL, "%s %s has no operation",
		              yq_routes[i].method, yq_routes[i].pattern);
}
END_TEST

START_TEST(test_every_operation_is_a_route)
{
	unsigned ops = 0;

	json_object_object_foreach (get(doc, "paths"), path, item) {
		for (size_t m = 0; m < NMETHODS; m++) {
			if (!get(item, METHODS[m]))
				continue;
			ops++;
			ck_assert_msg(route_for(METHODS[m], path) != NULL,
			              "%s %s is documented but no route", METHODS[m], path);
		}
		/* nothing but operations (and the shared keys) under a path */
		json_object_object_foreach (item, key, val) {
			bool known = strcmp(key, "parameters") == 0 ||
			             strcmp(key, "summary") == 0 || strcmp(key, "description") == 0;
			for (size_t m = 0; m < NMETHODS; m++)
				known = known || strcmp(key, METHODS[m]) == 0;
			ck_assert_msg(known, "%s: unknown key %s", path, key);
			(void)val;
		}
	}
	ck_assert_uint_eq(ops, yq_nroutes);
}
END_TEST

START_TEST(test_documented_paths_dispatch_to_their_route)
{
	json_object_object_foreach (get(doc, "paths"), path, item) {
		for (size_t m = 0; m < NMETHODS; m++) {
			char url[256], upper[16];
			const struct yq_route *found = NULL;
			long long ids[4];
			unsigned nids = 0;
			char allow[128];

			if (!get(item, METHODS[m]))
				continue;
			concrete(path, url, sizeof(url));
			for (size_t i = 0; i <= strlen(METHODS[m]); i++)
				upper[i] = (char)toupper((unsigned char)METHODS[m][i]);
			ck_assert_int_eq(yq_route_match(yq_routes, yq_nroutes, upper, url, &found,
			                                ids, 4, &nids, allow, sizeof(allow)),
			                 YQ_ROUTE_OK);
			ck_assert_ptr_eq(found, route_for(METHODS[m], path));
			for (unsigned i = 0; i < nids; i++)
				ck_assert_int_eq(ids[i], 7);
		}
	}
}
END_TEST

/* Every {name} of a template is a declared, required path parameter. */
START_TEST(test_path_parameters_declared)
{
	json_object_object_foreach (get(doc, "paths"), path, item) {
		for (size_t m = 0; m < NMETHODS; m++) {
			json_object *op = get(item, METHODS[m]), *params;
			unsigned want = 0, have = 0;

			if (!op)
				continue;
			params = get(op, "parameters");
			for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
				const char *end = strchr(p, '}');
				bool found = false;

				want++;
				for (size_t i = 0; params && i < json_object_array_length(params);
				     i++) {
					json_object *pr =
					        deref(json_object_array_get_idx(params, i));
					const char *name = json_object_get_string(get(pr, "name"));
					ck_assert_ptr_nonnull(pr);
					if (strcmp(json_object_get_string(get(pr, "in")), "path") ==
					            0 &&
					    strlen(name) == (size_t)(end - p - 1) &&
					    strncmp(name, p + 1, (size_t)(end - p - 1)) == 0) {
						ck_assert(json_object_get_boolean(
						        get(pr, "required")));
						found = true;
					}
				}
				ck_assert_msg(found, "%s %s: parameter %.*s not declared",
				              METHODS[m], path, (int)(end - p - 1), p + 1);
				have++;
			}
			ck_assert_uint_eq(want, have);
		}
	}
}
END_TEST

START_TEST(test_security_follows_the_auth_flag)
{
	for (size_t i = 0; i < yq_nroutes; i++) {
		json_object *op = operation_for(&yq_routes[i]);
		json_object *sec = get(op, "security"), *resp = get(op, "responses");

		ck_assert_msg(sec && json_object_is_type(sec, json_type_array),
		              "%s %s: no security", yq_routes[i].method, yq_routes[i].pattern);
		if (yq_routes[i].flags & YQ_ROUTE_AUTH) {
			ck_assert_msg(json_object_array_length(sec) > 0, "%s %s needs auth",
			              yq_routes[i].method, yq_routes[i].pattern);
			ck_assert_msg(get(resp, "401") != NULL, "%s %s: no 401",
			              yq_routes[i].method, yq_routes[i].pattern);
			for (size_t k = 0; k < json_object_array_length(sec); k++) {
				json_object_object_foreach (json_object_array_get_idx(sec, k),
				                            scheme, v) {
					json_object *schemes =
					        get(get(doc, "components"), "securitySchemes");
					ck_assert_msg(get(schemes, scheme) != NULL,
					              "unknown scheme %s", scheme);
					(void)v;
				}
			}
		} else {
			ck_assert_msg(json_object_array_length(sec) == 0, "%s %s needs no auth",
			              yq_routes[i].method, yq_routes[i].pattern);
		}
	}
}
END_TEST

START_TEST(test_operations_complete_and_ids_unique)
{
	const char *seen[128];
	size_t nseen = 0;

	json_object_object_foreach (get(doc, "paths"), path, item) {
		for (size_t m = 0; m < NMETHODS; m++) {
			json_object *op = get(item, METHODS[m]), *resp;
			const char *id;
			unsigned ok = 0;

			if (!op)
				continue;
			id = json_object_get_string(get(op, "operationId"));
			ck_assert_msg(id && *id, "%s %s: no operationId", METHODS[m], path);
			for (size_t i = 0; i < nseen; i++)
				ck_assert_msg(strcmp(seen[i], id) != 0, "operationId %s twice", id);
			ck_assert_uint_lt(nseen, sizeof(seen) / sizeof(seen[0]));
			seen[nseen++] = id;
			ck_assert_ptr_nonnull(get(op, "summary"));
			resp = get(op, "responses");
			ck_assert_ptr_nonnull(resp);
			json_object_object_foreach (resp, code, r) {
				ck_assert_msg(strlen(code) == 3 && code[0] >= '1' && code[0] <= '5',
				              "%s %s: status %s", METHODS[m], path, code);
				ck_assert_ptr_nonnull(get(deref(r), "description"));
				ok += code[0] == '2';
			}
			ck_assert_msg(ok == 1, "%s %s: %u success statuses", METHODS[m], path, ok);
		}
	}
}
END_TEST

static Suite *
openapi_suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *tc = tcase_create("document");

	tcase_add_checked_fixture(tc, load, unload);
	tcase_add_test(tc, test_is_openapi_3_1);
	tcase_add_test(tc, test_every_ref_resolves);
	tcase_add_test(tc, test_operations_complete_and_ids_unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_checked_fixture(tc, load, unload);
	tcase_add_test(tc, test_every_route_is_documented);
	tcase_add_test(tc, test_every_operation_is_a_route);
	tcase_add_test(tc, test_documented_paths_dispatch_to_their_route);
	tcase_add_test(tc, test_path_parameters_declared);
	tcase_add_test(tc, test_security_follows_the_auth_flag);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(openapi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
