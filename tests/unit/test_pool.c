/*
 * test_pool.c - unit tests for src/api/pool.c: who may see the status page
 * (yq_pool_addr_allowed: exact IPv4/IPv6 addresses compared parsed, IPv4
 * CIDRs, separators, junk entries) and the shared counters across a fork
 * (a child's requests are seen by the parent through the mapping).
 */
#include "config.h"

#include "api/pool.h"

#include <check.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(test_exact_addresses)
{
	ck_assert(yq_pool_addr_allowed("127.0.0.1 ::1", "127.0.0.1"));
	ck_assert(yq_pool_addr_allowed("127.0.0.1 ::1", "::1"));
	ck_assert(yq_pool_addr_allowed("127.0.0.1 ::1", "0:0::1"));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1 ::1", "127.0.0.2"));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1 ::1", "::2"));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1", "127.0.0.1 "));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1", "127.0.0.10"));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1", ""));
	ck_assert(!yq_pool_addr_allowed("127.0.0.1", NULL));
	ck_assert(!yq_pool_addr_allowed("", "127.0.0.1"));
	ck_assert(!yq_pool_addr_allowed("unknown", "unknown"));
}
END_TEST

START_TEST(test_cidrs_and_separators)
{
	ck_assert(yq_pool_addr_allowed("10.0.0.0/8", "10.200.3.4"));
	ck_assert(!yq_pool_addr_allowed("10.0.0.0/8", "11.0.0.1"));
	ck_assert(yq_pool_addr_allowed("192.168.1.0/24", "192.168.1.255"));
	ck_assert(!yq_pool_addr_allowed("192.168.1.0/24", "192.168.2.1"));
	ck_assert(yq_pool_addr_allowed("0.0.0.0/0", "8.8.8.8"));
	ck_assert(yq_pool_addr_allowed("1.2.3.4/32", "1.2.3.4"));
	ck_assert(!yq_pool_addr_allowed("1.2.3.4/32", "1.2.3.5"));
	ck_assert(!yq_pool_addr_allowed("1.2.3.4/33 1.2.3.4/-1 1.2.3.4/x", "1.2.3.4"));
	ck_assert(!yq_pool_addr_allowed("10.0.0.0/8", "::1"));
	ck_assert(yq_pool_addr_allowed("  junk,, 10.0.0.0/8\t127.0.0.1 ", "127.0.0.1"));
	ck_assert(yq_pool_addr_allowed("a,b,::1", "::1"));
}
END_TEST

START_TEST(test_counters_shared_across_fork)
{
	struct yq_pool *p = yq_pool_create();

	ck_assert_ptr_nonnull(p);
	atomic_store(&p->nslots, 2);
	yq_pool_slot_open(p, 1);
	pid_t pid = fork();
	if (pid == 0) {
		yq_pool_attach(p, 1);
		for (int i = 0; i < 5; i++) {
			yq_pool_begin();
			yq_pool_end();
		}
		yq_pool_begin(); /* dies busy */
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	yq_pool_slot_run(p, 1, pid);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_uint_eq(atomic_load(&p->slot[1].requests), 5);
	ck_assert_uint_eq(atomic_load(&p->requests), 5);
	ck_assert_int_eq(atomic_load(&p->slot[1].busy), 1);
	yq_pool_slot_run(p, 1, 0);
	ck_assert_int_eq(atomic_load(&p->slot[1].busy), 0);
	/* a new worker in the slot starts from zero; the total keeps all */
	yq_pool_slot_open(p, 1);
	ck_assert_uint_eq(atomic_load(&p->slot[1].requests), 0);
	ck_assert_uint_eq(atomic_load(&p->requests), 5);
	ck_assert_uint_eq(atomic_load(&p->slot[0].requests), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, test_exact_addresses);
	tcase_add_test(tc, test_cidrs_and_separators);
	tcase_add_test(tc, test_counters_shared_across_fork);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
