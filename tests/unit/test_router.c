/*
 * test_router.c - unit tests for src/api/router.c (yq_route_match).
 *
 * Covers, against a small route table of our own: literal matches, {id}
 * extraction (one and two ids), the optional trailing slash, NOT_FOUND for
 * unknown paths and for ids that are not positive canonical decimals
 * (non-numeric, zero, leading zero, sign, 19+ digits), BAD_METHOD with an
 * Allow list naming exactly the methods that exist for the path (each
 * once), literal segments ("me") winning over {id} whatever the table
 * order, paths longer or shorter than a pattern, the empty path, "/" and
 * "//users", and the bounds on ids[] and the Allow buffer.
 */
#include "config.h"

#include "api/router.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Dummy handlers: each is only compared by address. */
static int
h_users_list(struct yq_req *r)
{
	(void)r;
	return 1;
}
static int
h_users_create(struct yq_req *r)
{
	(void)r;
	return 2;
}
static int
h_user_get(struct yq_req *r)
{
	(void)r;
	return 3;
}
static int
h_me_get(struct yq_req *r)
{
	(void)r;
	return 4;
}
static int
h_me_put(struct yq_req *r)
{
	(void)r;
	return 5;
}
static int
h_member_get(struct yq_req *r)
{
	(void)r;
	return 6;
}
static int
h_member_put(struct yq_req *r)
{
	(void)r;
	return 7;
}
static int
h_member_delete(struct yq_req *r)
{
	(void)r;
	return 8;
}
static int
h_token(struct yq_req *r)
{
	(void)r;
	return 9;
}
static int
h_root(struct yq_req *r)
{
	(void)r;
	return 10;
}

/* The {id} row comes before the literal "me" rows on purpose: "me" must
 * not be taken as an id just because that row is tried first. */
static const struct yq_route routes[] = {
	{ "GET", "/users", h_users_list, YQ_ROUTE_AUTH },
	{ "POST", "/users", h_users_create, 0 },
	{ "GET", "/users/{id}", h_user_get, YQ_ROUTE_AUTH },
	{ "GET", "/users/me", h_me_get, YQ_ROUTE_AUTH },
	{ "PUT", "/users/me", h_me_put, YQ_ROUTE_AUTH },
	{ "GET", "/rooms/{id}/members/{id}", h_member_get, YQ_ROUTE_AUTH },
	{ "PUT", "/rooms/{id}/members/{id}", h_member_put, YQ_ROUTE_AUTH },
	{ "DELETE", "/rooms/{id}/members/{id}", h_member_delete, YQ_ROUTE_AUTH },
	{ "POST", "/token", h_token, 0 },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const struct yq_route routes_with_root[] = {
	{ "GET", "/", h_root, 0 },
	{ "GET", "/users", h_users_list, 0 },
};
#define NROUTES_ROOT (sizeof(routes_with_root) / sizeof(routes_with_root[0]))

/* Two GET rows that both match /dup/{n}: Allow must still say GET once. */
static const struct yq_route routes_dup[] = {
	{ "GET", "/dup/{id}", h_user_get, 0 },
	{ "GET", "/dup/{id}", h_me_get, 0 },
	{ "DELETE", "/dup/{id}", h_member_delete, 0 },
};
#define NROUTES_DUP (sizeof(routes_dup) / sizeof(routes_dup[0]))

#define SENTINEL (-777)

/* The last match's outputs. */
static const struct yq_route *found;
static long long ids[4];
static unsigned nids;
static char allow[64];

static enum yq_route_result
route_in(const struct yq_route *table, size_t n, const char *method, const char *path)
{
	found = NULL;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ids[i] = SENTINEL;
	nids = 999;
	memset(allow, 'x', sizeof(allow));
	return yq_route_match(table, n, method, path, &found, ids, 4, &nids, allow, sizeof(allow));
}

static enum yq_route_result
route(const char *method, const char *path)
{
	return route_in(routes, NROUTES, method, path);
}

/* Is m one of the ", "-separated entries of list (exactly, not a
 * substring)?  And how many entries are there? */
static bool
allow_has(const char *list, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = list; *p;) {
		const char *e = strstr(p, ", ");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, m, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 2;
	}
	return false;
}

static unsigned
allow_count(const char *list)
{
	unsigned n = 1;

	if (!*list)
		return 0;
	for (const char *p = strstr(list, ", "); p; p = strstr(p + 2, ", "))
		n++;
	return n;
}

START_TEST(test_literal_match)
{
	ck_assert_int_eq(route("GET", "/users"), YQ_ROUTE_OK);
	ck_assert_ptr_eq(found, &routes[0]);
	ck_assert(found->handler == h_users_list);
	ck_assert_uint_eq(nids, 0);

	ck_assert_int_eq(route("POST", "/users"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_users_create);
	ck_assert_uint_eq(found->flags, 0);

	ck_assert_int_eq(route("POST", "/token"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_token);
	ck_assert_uint_eq(nids, 0);
}
END_TEST

START_TEST(test_one_id)
{
	ck_assert_int_eq(route("GET", "/users/42"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_user_get);
	ck_assert_uint_eq(nids, 1);
	ck_assert_int_eq(ids[0], 42);
	ck_assert_int_eq(ids[1], SENTINEL);

	ck_assert_int_eq(route("GET", "/users/1"), YQ_ROUTE_OK);
	ck_assert_int_eq(ids[0], 1);

	/* 18 digits is the largest id the router takes. */
	ck_assert_int_eq(route("GET", "/users/999999999999999999"), YQ_ROUTE_OK);
	ck_assert_uint_eq(nids, 1);
	ck_assert_int_eq(ids[0], 999999999999999999LL);
}
END_TEST

START_TEST(test_two_ids)
{
	ck_assert_int_eq(route("PUT", "/rooms/7/members/123"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_member_put);
	ck_assert_uint_eq(nids, 2);
	ck_assert_int_eq(ids[0], 7);
	ck_assert_int_eq(ids[1], 123);
	ck_assert_int_eq(ids[2], SENTINEL);

	ck_assert_int_eq(route("DELETE", "/rooms/123456789012/members/9"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_member_delete);
	ck_assert_int_eq(ids[0], 123456789012LL);
	ck_assert_int_eq(ids[1], 9);
}
END_TEST

START_TEST(test_trailing_slash_ignored)
{
	ck_assert_int_eq(route("GET", "/users/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_users_list);
	ck_assert_int_eq(route("POST", "/users/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_users_create);

	ck_assert_int_eq(route("GET", "/users/me/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_me_get);
	ck_assert_uint_eq(nids, 0);

	ck_assert_int_eq(route("GET", "/users/42/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_user_get);
	ck_assert_int_eq(ids[0], 42);

	ck_assert_int_eq(route("GET", "/rooms/3/members/4/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_member_get);
	ck_assert_uint_eq(nids, 2);
	ck_assert_int_eq(ids[0], 3);
	ck_assert_int_eq(ids[1], 4);
}
END_TEST

START_TEST(test_unknown_path_not_found)
{
	static const char *const paths[] = {
		"/nope", "/user", "/usersx", "/Users", "/token/x", "/rooms", "/rooms/1",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ck_assert_msg(route("GET", paths[i]) == YQ_ROUTE_NOT_FOUND, "GET %s matched",
		              paths[i]);
		ck_assert_msg(route("POST", paths[i]) == YQ_ROUTE_NOT_FOUND, "POST %s matched",
		              paths[i]);
		ck_assert_str_eq(allow, "");
	}
}
END_TEST

START_TEST(test_bad_ids_not_found)
{
	static const char *const paths[] = {
		"/users/abc",
		"/users/12a",
		"/users/a12",
		"/users/1.5",
		"/users/0",
		"/users/00",
		"/users/007",
		"/users/-1",
		"/users/+1",
		"/users/%31",
		"/users/ 1",
		"/users/1234567890123456789",  /* 19 digits */
		"/users/99999999999999999999", /* 20 digits, past int64 */
		"/rooms/0/members/1",
		"/rooms/1/members/01",
		"/rooms/x/members/1",
		"/rooms/1/members/-2",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		enum yq_route_result rr = route("GET", paths[i]);
		ck_assert_msg(rr == YQ_ROUTE_NOT_FOUND, "GET %s gave %d, not NOT_FOUND", paths[i],
		              (int)rr);
		ck_assert_str_eq(allow, "");
	}
}
END_TEST

START_TEST(test_bad_method_allow_list)
{
	ck_assert_int_eq(route("DELETE", "/users"), YQ_ROUTE_BAD_METHOD);
	ck_assert_ptr_null(found);
	ck_assert_uint_eq(allow_count(allow), 2);
	ck_assert(allow_has(allow, "GET"));
	ck_assert(allow_has(allow, "POST"));

	/* /users/me has GET and PUT; /users/{id}'s GET must not be listed a
	 * second time, and "me" is not an id. */
	ck_assert_int_eq(route("PATCH", "/users/me/"), YQ_ROUTE_BAD_METHOD);
	ck_assert_uint_eq(allow_count(allow), 2);
	ck_assert(allow_has(allow, "GET"));
	ck_assert(allow_has(allow, "PUT"));

	/* /users/42 only has GET: PUT belongs to /users/me alone. */
	ck_assert_int_eq(route("PUT", "/users/42"), YQ_ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET");

	ck_assert_int_eq(route("POST", "/rooms/1/members/2"), YQ_ROUTE_BAD_METHOD);
	ck_assert_uint_eq(allow_count(allow), 3);
	ck_assert(allow_has(allow, "GET"));
	ck_assert(allow_has(allow, "PUT"));
	ck_assert(allow_has(allow, "DELETE"));
	ck_assert(!allow_has(allow, "POST"));

	ck_assert_int_eq(route("GET", "/token"), YQ_ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "POST");
}
END_TEST

START_TEST(test_allow_lists_each_method_once)
{
	ck_assert_int_eq(route_in(routes_dup, NROUTES_DUP, "PUT", "/dup/5"), YQ_ROUTE_BAD_METHOD);
	ck_assert_uint_eq(allow_count(allow), 2);
	ck_assert(allow_has(allow, "GET"));
	ck_assert(allow_has(allow, "DELETE"));
	/* the first matching row wins */
	ck_assert_int_eq(route_in(routes_dup, NROUTES_DUP, "GET", "/dup/5"), YQ_ROUTE_OK);
	ck_assert_ptr_eq(found, &routes_dup[0]);
}
END_TEST

START_TEST(test_method_is_case_sensitive)
{
	ck_assert_int_eq(route("get", "/users"), YQ_ROUTE_BAD_METHOD);
	ck_assert(allow_has(allow, "GET"));
}
END_TEST

START_TEST(test_me_not_captured_as_id)
{
	ck_assert_int_eq(route("GET", "/users/me"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_me_get);
	ck_assert_uint_eq(nids, 0);
	ck_assert_int_eq(ids[0], SENTINEL);

	ck_assert_int_eq(route("PUT", "/users/me"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_me_put);
	ck_assert_uint_eq(nids, 0);

	/* Not "me" either. */
	ck_assert_int_eq(route("GET", "/users/mE"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/users/mee"), YQ_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_longer_and_shorter_paths)
{
	/* longer than every pattern it starts like */
	ck_assert_int_eq(route("GET", "/users/42/extra"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/users/me/x"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/rooms/1/members/2/3"), YQ_ROUTE_NOT_FOUND);
	/* shorter than the pattern */
	ck_assert_int_eq(route("GET", "/rooms/1/members"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/rooms/1/members/"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/rooms/1"), YQ_ROUTE_NOT_FOUND);
	ck_assert_str_eq(allow, "");
}
END_TEST

START_TEST(test_empty_and_root_paths)
{
	ck_assert_int_eq(route("GET", ""), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/"), YQ_ROUTE_NOT_FOUND);

	ck_assert_int_eq(route_in(routes_with_root, NROUTES_ROOT, "GET", "/"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_root);
	ck_assert_int_eq(route_in(routes_with_root, NROUTES_ROOT, "POST", "/"),
	                 YQ_ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "GET");
	ck_assert_int_eq(route_in(routes_with_root, NROUTES_ROOT, "GET", ""), YQ_ROUTE_NOT_FOUND);
	/* "/users" must not fall back to the root route */
	ck_assert_int_eq(route_in(routes_with_root, NROUTES_ROOT, "GET", "/users"), YQ_ROUTE_OK);
	ck_assert(found->handler == h_users_list);
}
END_TEST

START_TEST(test_double_slash_not_matched)
{
	ck_assert_int_eq(route("GET", "//users"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/users//42"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "/rooms//1/members/2"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(route("GET", "users"), YQ_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_ids_bounded_by_maxids)
{
	long long two[2] = { SENTINEL, SENTINEL };
	unsigned n = 0;
	const struct yq_route *f = NULL;
	char al[16];

	/* A route with more {id}s than the caller has room for never
	 * matches and never writes past maxids. */
	enum yq_route_result rr = yq_route_match(routes, NROUTES, "GET", "/rooms/5/members/6", &f,
	                                         two, 1, &n, al, sizeof(al));
	ck_assert_int_eq(rr, YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(two[1], SENTINEL);

	rr = yq_route_match(routes, NROUTES, "GET", "/rooms/5/members/6", &f, two, 2, &n, al,
	                    sizeof(al));
	ck_assert_int_eq(rr, YQ_ROUTE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(two[0], 5);
	ck_assert_int_eq(two[1], 6);
}
END_TEST

START_TEST(test_allow_buffer_bounded)
{
	long long id[4];
	unsigned n = 0;
	const struct yq_route *f = NULL;
	char al[8];

	/* "GET, PUT, DELETE" does not fit in 8 bytes: what is written is a
	 * terminated prefix made of whole method names. */
	memset(al, 'x', sizeof(al));
	enum yq_route_result rr = yq_route_match(routes, NROUTES, "POST", "/rooms/1/members/2", &f,
	                                         id, 4, &n, al, sizeof(al));
	ck_assert_int_eq(rr, YQ_ROUTE_BAD_METHOD);
	ck_assert_ptr_nonnull(memchr(al, '\0', sizeof(al)));
	ck_assert(allow_has(al, "GET"));
	ck_assert(!allow_has(al, "DELETE"));
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_literal_match);
	tcase_add_test(tc, test_one_id);
	tcase_add_test(tc, test_two_ids);
	tcase_add_test(tc, test_trailing_slash_ignored);
	tcase_add_test(tc, test_unknown_path_not_found);
	tcase_add_test(tc, test_bad_ids_not_found);
	tcase_add_test(tc, test_bad_method_allow_list);
	tcase_add_test(tc, test_allow_lists_each_method_once);
	tcase_add_test(tc, test_method_is_case_sensitive);
	tcase_add_test(tc, test_me_not_captured_as_id);
	tcase_add_test(tc, test_longer_and_shorter_paths);
	tcase_add_test(tc, test_empty_and_root_paths);
	tcase_add_test(tc, test_double_slash_not_matched);
	tcase_add_test(tc, test_ids_bounded_by_maxids);
	tcase_add_test(tc, test_allow_buffer_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
