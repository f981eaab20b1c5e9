/*
 * test_perm.c - unit tests for src/core/perm.c, the room permission table
 * of SPEC section 3 (the one the REST app and the ws daemon share).
 *
 * The whole table, cell by cell, against the matrix of perm.h: for each
 * action and role, with guest_control off and on; kicking only lower
 * roles; nobody without a role may do anything; out-of-range actions are
 * refused; role names parse and print both ways, unknown ones are "none".
 */
#include "config.h"

#include "core/perm.h"

#include <check.h>
#include <stdbool.h>

/* SPEC section 3 as perm.h draws it: the lowest role for each action
 * (guest_control lowers playback control to member). */
static const struct {
	enum yq_action act;
	enum yq_role lowest;
	enum yq_role lowest_with_guest_control;
} matrix[] = {
	{ YQ_ACT_CHAT, YQ_ROLE_MEMBER, YQ_ROLE_MEMBER },
	{ YQ_ACT_CUSTOM_EVENT, YQ_ROLE_MEMBER, YQ_ROLE_MEMBER },
	{ YQ_ACT_CONTROL, YQ_ROLE_MODERATOR, YQ_ROLE_MEMBER },
	{ YQ_ACT_INVITE, YQ_ROLE_MODERATOR, YQ_ROLE_MODERATOR },
	{ YQ_ACT_REVIEW, YQ_ROLE_MODERATOR, YQ_ROLE_MODERATOR },
	{ YQ_ACT_KICK, YQ_ROLE_MODERATOR, YQ_ROLE_MODERATOR },
	{ YQ_ACT_CONFIG, YQ_ROLE_OWNER, YQ_ROLE_OWNER },
	{ YQ_ACT_SET_ROLE, YQ_ROLE_OWNER, YQ_ROLE_OWNER },
	{ YQ_ACT_TRANSFER, YQ_ROLE_OWNER, YQ_ROLE_OWNER },
	{ YQ_ACT_DISSOLVE, YQ_ROLE_OWNER, YQ_ROLE_OWNER },
};

START_TEST(test_every_cell)
{
	ck_assert_uint_eq(sizeof(matrix) / sizeof(matrix[0]), YQ_ACT_COUNT);
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		for (int role = YQ_ROLE_NONE; role <= YQ_ROLE_OWNER; role++) {
			bool off = role != YQ_ROLE_NONE && role >= (int)matrix[i].lowest;
			bool on = role != YQ_ROLE_NONE &&
			          role >= (int)matrix[i].lowest_with_guest_control;
			ck_assert_msg(yq_perm_allowed((enum yq_role)role, matrix[i].act, false) ==
			                      off,
			              "action %d role %d", (int)matrix[i].act, role);
			ck_assert_msg(yq_perm_allowed((enum yq_role)role, matrix[i].act, true) ==
			                      on,
			              "action %d role %d guest_control", (int)matrix[i].act, role);
		}
	}
}
END_TEST

START_TEST(test_out_of_range_actions)
{
	for (int role = YQ_ROLE_NONE; role <= YQ_ROLE_OWNER; role++) {
		ck_assert(!yq_perm_allowed((enum yq_role)role, YQ_ACT_COUNT, false));
		ck_assert(!yq_perm_allowed((enum yq_role)role, YQ_ACT_COUNT, true));
		ck_assert(!yq_perm_allowed((enum yq_role)role, (enum yq_action) - 1, true));
		ck_assert(!yq_perm_allowed((enum yq_role)role, (enum yq_action)1000, true));
	}
}
END_TEST

START_TEST(test_kick_only_lower_roles)
{
	for (int a = YQ_ROLE_NONE; a <= YQ_ROLE_OWNER; a++)
		for (int t = YQ_ROLE_NONE; t <= YQ_ROLE_OWNER; t++) {
			bool want = a >= YQ_ROLE_MODERATOR && t != YQ_ROLE_NONE && t < a;
			ck_assert_msg(yq_perm_can_kick((enum yq_role)a, (enum yq_role)t) == want,
			              "actor %d target %d", a, t);
		}
}
END_TEST

START_TEST(test_role_names)
{
	static const char *const names[] = { "none", "member", "moderator", "owner" };

	for (int role = YQ_ROLE_NONE; role <= YQ_ROLE_OWNER; role++)
		ck_assert_str_eq(yq_role_name((enum yq_role)role), names[role]);
	ck_assert_int_eq(yq_role_parse("member"), YQ_ROLE_MEMBER);
	ck_assert_int_eq(yq_role_parse("moderator"), YQ_ROLE_MODERATOR);
	ck_assert_int_eq(yq_role_parse("owner"), YQ_ROLE_OWNER);
	ck_assert_int_eq(yq_role_parse("none"), YQ_ROLE_NONE);
	ck_assert_int_eq(yq_role_parse("Owner"), YQ_ROLE_NONE);
	ck_assert_int_eq(yq_role_parse("owner "), YQ_ROLE_NONE);
	ck_assert_int_eq(yq_role_parse(""), YQ_ROLE_NONE);
	ck_assert_int_eq(yq_role_parse(NULL), YQ_ROLE_NONE);
	ck_assert_str_eq(yq_role_name((enum yq_role)7), "none");
	ck_assert_str_eq(yq_role_name((enum yq_role) - 1), "none");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("perm");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_every_cell);
	tcase_add_test(tc, test_out_of_range_actions);
	tcase_add_test(tc, test_kick_only_lower_roles);
	tcase_add_test(tc, test_role_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
