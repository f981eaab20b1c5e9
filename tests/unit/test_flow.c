/*
 * test_flow.c - unit tests for ws/flow.c: the 64-bit key map and the
 * token bucket of flood control.
 *
 * Map: put/get/del, many keys across growth, negative and huge keys,
 * deleting while iterating with MAP_EACH.  Bucket: a full burst passes,
 * the next event is refused, tokens come back at the rate, never beyond
 * the burst.
 */
#include "config.h"

#include "ws/ws.h"

#include <check.h>
#include <stdint.h>

START_TEST(test_map_basics)
{
	struct map m = { 0 };
	int a = 1, b = 2;

	ck_assert_ptr_null(map_get(&m, 5));
	ck_assert_int_eq(map_put(&m, 5, &a), 0);
	ck_assert_int_eq(map_put(&m, -7, &b), 0);
	ck_assert_int_eq(map_put(&m, INT64_MAX, &b), 0);
	ck_assert_ptr_eq(map_get(&m, 5), &a);
	ck_assert_ptr_eq(map_get(&m, -7), &b);
	ck_assert_ptr_eq(map_get(&m, INT64_MAX), &b);
	ck_assert_ptr_null(map_get(&m, 6));
	ck_assert_ptr_eq(map_del(&m, 5), &a);
	ck_assert_ptr_null(map_get(&m, 5));
	ck_assert_ptr_null(map_del(&m, 5));
	ck_assert_uint_eq(m.n, 2);
	map_free(&m);
	ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(test_map_growth)
{
	struct map m = { 0 };
	static int vals[5000];

	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(map_put(&m, (int64_t)i * 1000003, &vals[i]), 0);
	ck_assert_uint_eq(m.n, 5000);
	for (int i = 0; i < 5000; i++)
		ck_assert_ptr_eq(map_get(&m, (int64_t)i * 1000003), &vals[i]);
	map_free(&m);
}
END_TEST

START_TEST(test_map_delete_while_iterating)
{
	struct map m = { 0 };
	static int vals[300];
	size_t seen = 0;

	for (int i = 0; i < 300; i++)
		map_put(&m, i, &vals[i]);
	MAP_EACH(&m, k, v, {
		ck_assert_ptr_eq(v, &vals[k]);
		seen++;
		if (k % 2 == 0)
			map_del(&m, k);
	});
	ck_assert_uint_eq(seen, 300);
	ck_assert_uint_eq(m.n, 150);
	for (int i = 0; i < 300; i++)
		ck_assert(map_get(&m, i) == (i % 2 ? &vals[i] : NULL));
	map_free(&m);
}
END_TEST

START_TEST(test_bucket_burst_then_rate)
{
	struct bucket b = { 0 };
	int64_t t = 1000000;

	for (int i = 0; i < 20; i++)
		ck_assert(bucket_take(&b, 10.0, 20.0, t));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t));
	/* 10/s: one token per 100 ms */
	ck_assert(!bucket_take(&b, 10.0, 20.0, t + 50));
	ck_assert(bucket_take(&b, 10.0, 20.0, t + 100));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t + 150));
	/* a long pause refills to the burst, not beyond */
	t += 100000;
	for (int i = 0; i < 20; i++)
		ck_assert(bucket_take(&b, 10.0, 20.0, t));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t));
}
END_TEST

START_TEST(test_bucket_steady_rate)
{
	struct bucket b = { 0 };
	int passed = 0;

	/* 100 events/s offered for 10 s against 10/s with burst 20 */
	for (int i = 0; i < 1000; i++)
		passed += bucket_take(&b, 10.0, 20.0, 5000 + (int64_t)i * 10);
	ck_assert_int_ge(passed, 20 + 99 - 1);
	ck_assert_int_le(passed, 20 + 100 + 1);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_map_basics);
	tcase_add_test(tc, test_map_growth);
	tcase_add_test(tc, test_map_delete_while_iterating);
	tcase_add_test(tc, test_bucket_burst_then_rate);
	tcase_add_test(tc, test_bucket_steady_rate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flow_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
