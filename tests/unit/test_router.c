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
 *
 * The "yq_routes" case tests the real table of src/api/routes.c (linked
 * with every handler it names): each SPEC endpoint reaches its handler
 * with its ids, literal segments ("me", "read-all", "clear", "join",
 * "invitations") are never taken as ids, no row is a duplicate or
 * shadowed by another, every other method on a known path is a 405 naming
 * exactly the table's methods, and only register, login and refresh are
 * open without a bearer token.
 */
#include "config.h"

#include "api/handlers.h"
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

/* ---- the real table (src/api/routes.c) ---- */

struct spec_route {
	const char *method, *path;
	yq_handler handler;
	unsigned nids;
	long long id0, id1;
};

static const struct spec_route spec[] = {
	{ "POST", "/users/", h_users_register, 0, 0, 0 },
	{ "GET", "/users", h_users_search, 0, 0, 0 },
	{ "GET", "/users/me", h_users_me, 0, 0, 0 },
	{ "PUT", "/users/me/", h_users_update_me, 0, 0, 0 },
	{ "GET", "/users/42", h_users_get, 1, 42, 0 },
	{ "POST", "/token", h_token_login, 0, 0, 0 },
	{ "POST", "/token/refresh", h_token_refresh, 0, 0, 0 },
	{ "GET", "/token/check", h_token_check, 0, 0, 0 },
	{ "POST", "/token/revoke", h_token_revoke, 0, 0, 0 },
	{ "POST", "/token/ws-ticket", h_token_ws_ticket, 0, 0, 0 },
	{ "GET", "/notifications/", h_notifications_list, 0, 0, 0 },
	{ "PUT", "/notifications/read-all", h_notifications_read_all, 0, 0, 0 },
	{ "DELETE", "/notifications/clear", h_notifications_clear, 0, 0, 0 },
	{ "PUT", "/notifications/7/read", h_notifications_read, 1, 7, 0 },
	{ "DELETE", "/notifications/7", h_notifications_delete, 1, 7, 0 },
	{ "POST", "/rooms/", h_rooms_create, 0, 0, 0 },
	{ "GET", "/rooms", h_rooms_list, 0, 0, 0 },
	{ "POST", "/rooms/join", h_rooms_join, 0, 0, 0 },
	{ "POST", "/rooms/leave", h_rooms_leave, 0, 0, 0 },
	{ "POST", "/rooms/invite", h_rooms_invite, 0, 0, 0 },
	{ "POST", "/rooms/apply", h_rooms_apply, 0, 0, 0 },
	{ "GET", "/rooms/invitations", h_rooms_invitations, 0, 0, 0 },
	{ "POST", "/rooms/invitations/9/decline", h_rooms_decline, 1, 9, 0 },
	{ "GET", "/rooms/3", h_rooms_get, 1, 3, 0 },
	{ "DELETE", "/rooms/3/", h_rooms_dissolve, 1, 3, 0 },
	{ "PUT", "/rooms/3/config", h_rooms_config, 1, 3, 0 },
	{ "GET", "/rooms/3/members", h_rooms_members, 1, 3, 0 },
	{ "PUT", "/rooms/3/members/5", h_rooms_set_role, 2, 3, 5 },
	{ "DELETE", "/rooms/3/members/5", h_rooms_kick, 2, 3, 5 },
	{ "POST", "/rooms/3/transfer", h_rooms_transfer, 1, 3, 0 },
	{ "GET", "/rooms/3/applications", h_rooms_applications, 1, 3, 0 },
	{ "POST", "/rooms/3/applications/8/approve", h_rooms_approve, 2, 3, 8 },
	{ "POST", "/rooms/3/applications/8/reject", h_rooms_reject, 2, 3, 8 },
	{ "GET", "/rooms/3/messages", h_rooms_messages, 1, 3, 0 },
};

static enum yq_route_result
real(const char *method, const char *path)
{
	return route_in(yq_routes, yq_nroutes, method, path);
}

START_TEST(test_real_spec_endpoints)
{
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		enum yq_route_result rr = real(spec[i].method, spec[i].path);
		ck_assert_msg(rr == YQ_ROUTE_OK, "%s %s: %d", spec[i].method, spec[i].path, rr);
		ck_assert_msg(found->handler == spec[i].handler, "%s %s: wrong handler (%s)",
		              spec[i].method, spec[i].path, found->pattern);
		ck_assert_uint_eq(nids, spec[i].nids);
		if (spec[i].nids > 0)
			ck_assert_int_eq(ids[0], spec[i].id0);
		if (spec[i].nids > 1)
			ck_assert_int_eq(ids[1], spec[i].id1);
	}
	/* every row of the table is one of them */
	ck_assert_uint_eq(yq_nroutes, sizeof(spec) / sizeof(spec[0]));
}
END_TEST

START_TEST(test_real_literals_are_not_ids)
{
	/* DELETE /notifications/{id} must not take "read-all" as an id */
	ck_assert_int_eq(real("DELETE", "/notifications/read-all"), YQ_ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "PUT");
	ck_assert_int_eq(real("PUT", "/notifications/clear"), YQ_ROUTE_BAD_METHOD);
	ck_assert_str_eq(allow, "DELETE");
	ck_assert_int_eq(real("GET", "/rooms/join"), YQ_ROUTE_BAD_METHOD);
	ck_assert_int_eq(real("DELETE", "/rooms/invitations"), YQ_ROUTE_BAD_METHOD);
	ck_assert_int_eq(real("DELETE", "/users/me"), YQ_ROUTE_BAD_METHOD);
	ck_assert_int_eq(real("GET", "/users/0"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(real("GET", "/users/-1"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(real("GET", "/rooms/1/members/me"), YQ_ROUTE_NOT_FOUND);
	ck_assert_int_eq(real("GET", "/rooms/invitations/x/decline"), YQ_ROUTE_NOT_FOUND);
}
END_TEST

/* Each row, its {id}s filled in, reaches that very row: none is a
 * duplicate of an earlier one or shadowed by it. */
START_TEST(test_real_no_row_shadowed)
{
	for (size_t i = 0; i < yq_nroutes; i++) {
		char path[256];
		size_t o = 0;
		for (const char *p = yq_routes[i].pattern; *p && o + 4 < sizeof(path);) {
			if (strncmp(p, "{id}", 4) == 0) {
				memcpy(path + o, "17", 2);
				o += 2;
				p += 4;
			} else {
				path[o++] = *p++;
			}
		}
		path[o] = '\0';
		ck_assert_int_eq(real(yq_routes[i].method, path), YQ_ROUTE_OK);
		ck_assert_msg(found == &yq_routes[i], "%s %s reaches %s", yq_routes[i].method,
		              yq_routes[i].pattern, found->pattern);
	}
}
END_TEST

START_TEST(test_real_allow_lists)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };

	for (size_t i = 0; i < yq_nroutes; i++) {
		char path[256];
		size_t o = 0;
		for (const char *p = yq_routes[i].pattern; *p && o + 4 < sizeof(path);) {
			bool id = strncmp(p, "{id}", 4) == 0;
			path[o++] = id ? '5' : *p;
			p += id ? 4 : 1;
		}
		path[o] = '\0';
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			bool exists = false;
			for (size_t j = 0; j < yq_nroutes; j++)
				exists |= strcmp(yq_routes[j].pattern, yq_routes[i].pattern) == 0 &&
				          strcmp(yq_routes[j].method, methods[m]) == 0;
			enum yq_route_result rr = real(methods[m], path);
			if (exists) {
				ck_assert_int_eq(rr, YQ_ROUTE_OK);
				continue;
			}
			ck_assert_msg(rr == YQ_ROUTE_BAD_METHOD, "%s %s", methods[m], path);
			for (size_t j = 0; j < yq_nroutes; j++)
				if (strcmp(yq_routes[j].pattern, yq_routes[i].pattern) == 0)
					ck_assert_msg(allow_has(allow, yq_routes[j].method),
					              "%s missing from Allow of %s",
					              yq_routes[j].method, path);
			ck_assert(!allow_has(allow, methods[m]));
		}
	}
}
END_TEST

START_TEST(test_real_auth_flags)
{
	for (size_t i = 0; i < yq_nroutes; i++) {
		const struct yq_route *r = &yq_routes[i];
		bool open =
		        (strcmp(r->method, "POST") == 0) &&
		        (strcmp(r->pattern, "/users") == 0 || strcmp(r->pattern, "/token") == 0 ||
		         strcmp(r->pattern, "/token/refresh") == 0);
		ck_assert_msg(((r->flags & YQ_ROUTE_AUTH) == 0) == open, "%s %s: auth flag %u",
		              r->method, r->pattern, r->flags);
	}
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

	tc = tcase_create("yq_routes");
	tcase_add_test(tc, test_real_spec_endpoints);
	tcase_add_test(tc, test_real_literals_are_not_ids);
	tcase_add_test(tc, test_real_no_row_shadowed);
	tcase_add_test(tc, test_real_allow_lists);
	tcase_add_test(tc, test_real_auth_flags);
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
