/* wake.c: a datagram sent to the queue.wake addresses reaches a socket
 * from yq_wake_listen, over real loopback UDP; bad addresses are refused. */
#include "config.h"

#include "core/config.h"
#include "core/wake.h"

#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned
port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

START_TEST(test_send_reaches_the_listeners)
{
	int a = yq_wake_listen("127.0.0.1:0"), b = yq_wake_listen("127.0.0.1:0");
	static struct yq_config cfg;

	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert(!yq_wake_drain(a)); /* nothing yet */
	/* a bad entry among good ones is skipped (logged) */
	snprintf(cfg.queue_wake, sizeof(cfg.queue_wake), " 127.0.0.1:%u,nonsense , 127.0.0.1:%u",
	         port_of(a), port_of(b));
	yq_wake_send(&cfg);
	yq_wake_send(&cfg);
	/* a bounded wait: loopback UDP is delivered at once; the bound only
	 * keeps a failure from hanging the test */
	ck_assert(readable(a, 10000));
	ck_assert(readable(b, 10000));
	ck_assert(yq_wake_drain(a)); /* both datagrams in one drain */
	ck_assert(!yq_wake_drain(a));
	ck_assert(yq_wake_drain(b));
	close(a);
	close(b);
}
END_TEST

START_TEST(test_bad_listen_addresses)
{
	ck_assert_int_eq(yq_wake_listen(""), -1);
	ck_assert_int_eq(yq_wake_listen("127.0.0.1"), -1);
	ck_assert_int_eq(yq_wake_listen(":9"), -1);
	ck_assert_int_eq(yq_wake_listen("127.0.0.1:"), -1);
	ck_assert_int_eq(yq_wake_listen("127.0.0.1:notaport"), -1);
	ck_assert_int_eq(yq_wake_listen("203.0.113.7:0"), -1); /* not ours: bind fails */
}
END_TEST

START_TEST(test_empty_list_sends_nothing)
{
	static struct yq_config cfg; /* queue_wake "" */

	yq_wake_send(&cfg); /* returns before resolving anything */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wake");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_send_reaches_the_listeners);
	tcase_add_test(tc, test_bad_listen_addresses);
	tcase_add_test(tc, test_empty_list_sends_nothing);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
